"""What the pages say about access: why a reader sees what they see of a transition (their
relations and parts, domain.access), and why a page was refused, in bokmål."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from api.emergency.schemas import EmergencyGrantPublic
from domain.access import Part, Relation, purpose

RELATION_WORDS = {
    Relation.CARE: "behandling",
    Relation.CONSENT: "samtykke",
    Relation.OVERSIGHT: "ledelse",
    Relation.EMERGENCY: "nødtilgang (blålys)",
}
# What the reader sees, from the widest part they have (the union over their relations).
SEES_ALL = "Du ser hele overgangen, også helseopplysninger, fordi du deltar i behandlingen."
SEES_IN_EMERGENCY = "Du ser hele overgangen, også helseopplysninger, så lenge nødtilgangen varer."
SEES_CONSENT = (
    "Du ser det pasientens samtykke gir enheten din: pasientens navn, ikke-medisinske behov, "
    "datoer og kontaktpersoner for enhetens egne steg. Helseopplysninger, notater og andre "
    "enheters steg vises ikke."
)
SEES_OVERSIGHT = (
    "Som leder ser du forløpet: steg, frister, eskalering og hvilke enheter som har dem. "
    "Hvem pasienten er, pasientens egne ord og helseopplysninger vises ikke."
)


@dataclass(frozen=True)
class AccessView:
    relations: frozenset[Relation]
    parts: frozenset[Part]
    grant: EmergencyGrantPublic | None = None

    @property
    def data_relations(self) -> str:
        return " ".join(sorted(self.relations))

    @property
    def words(self) -> str:
        return ", ".join(RELATION_WORDS[r] for r in RELATION_WORDS if r in self.relations)

    @property
    def is_emergency(self) -> bool:
        """The read rests on emergency access alone (no care relation beside it)."""
        return purpose(self.relations) == Relation.EMERGENCY.value

    @property
    def explanation(self) -> str:
        if Part.CLINICAL in self.parts:
            return SEES_IN_EMERGENCY if self.is_emergency else SEES_ALL
        if Part.NEEDS_AND_CONTACTS in self.parts:
            return SEES_CONSENT
        return SEES_OVERSIGHT


@dataclass(frozen=True)
class Refused:
    """A refused page: what was refused, and whether emergency access is offered."""

    kind: str  # "transition" or "task"
    transition_id: str = ""
    offer_emergency: bool = False
    lasts: timedelta | None = None  # how long an emergency access lasts (Settings)
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
