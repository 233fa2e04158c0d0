"""The choices a step's forms offer, by the same rules its commands are checked with
(api.tasks.checks, domain.delegation): the pages list only what the command would accept."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.discharges.service import RECEIVING_UNIT_KIND
from domain.delegation import consents_given, forward_targets
from domain.tasks import TaskKind
from store import directory
from store import inbox as queries
from store.access import unit_fact
from store.tables import TaskRow, Unit


@dataclass(frozen=True)
class ForwardChoice:
    id: str
    label: str


async def forward_choices(session: AsyncSession, row: TaskRow) -> list[ForwardChoice]:
    """Where a rejected step may be forwarded: the transition's municipality's units first,
    then other municipalities' receiving units (named with their municipality)."""
    transition = await queries.get_transition(session, row.transition_id)
    if transition is None:
        return []
    home = transition.municipality_number
    found = await directory.forward_candidates(session, home, RECEIVING_UNIT_KIND)
    allowed = forward_targets(
        TaskKind(row.kind),
        [unit_fact(unit) for unit, _ in found],
        owner_unit_id=row.owner_unit_id,
        origin_unit_id=transition.origin_unit_id,
        consents=consents_given(transition.details.get("consents")),
    )
    ids = {unit.id for unit in allowed}
    return [_choice(unit, name, home) for unit, name in found if unit.id in ids]


def _choice(unit: Unit, municipality: str | None, home: str) -> ForwardChoice:
    if unit.municipality_number == home or not municipality:
        return ForwardChoice(unit.id, unit.name)
    return ForwardChoice(unit.id, f"{unit.name}, {municipality}")
