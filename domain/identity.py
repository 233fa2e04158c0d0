"""Patient identity: the fødselsnummer identifies the patient; a name is what one service
called them on one transition. These rules decide when a start needs a second look."""

from __future__ import annotations

from collections.abc import Iterable


def normalised_name(name: str) -> str:
    """Case and spacing are how a name was typed, not who it names."""
    return " ".join(name.split()).casefold()


def name_differs(given: str, known: Iterable[str]) -> bool:
    """True when the number is already known under a name other than the one given now."""
    mine = normalised_name(given)
    return any(normalised_name(name) != mine for name in known)


def second_episode_refusal(active: list[str], *, new_episode: bool) -> str | None:
    """A second discharge of one patient from one unit, while the first is under way, is
    most often a double registration: refused unless the coordinator says it is a new
    episode. Returns the id of the discharge under way that refuses it."""
    if new_episode or not active:
        return None
    return active[0]
