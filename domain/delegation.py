"""Who work may be handed to: a substitute for an absent person, the assignee of a step, the
unit a rejected step is forwarded to. Pure rules over directory facts; the API checks them
before it writes an absence or sends a command to a workflow, and the pages offer only the
people and units they allow.

Each ``*_refusal`` returns None when the handing-on is allowed, else the reason, naming
what a person can fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from domain.access import CONSENT_FOR_SECTOR, Sector, UnitFacts, Units, may_stand_in
from domain.tasks import TaskKind

# Steps that hand non-clinical work (needs, dates, contacts) to a municipal office; every
# other step carries health information and stays among health personnel.
HANDOVER_KINDS = frozenset({TaskKind.HOUSING, TaskKind.NAV, TaskKind.HANDOVER})
# The specialist service itself must call the partners to the cooperation meeting (a
# condition for the municipality's payment for DPS/TSB patients): it is not passed on.
NOT_FORWARDED = frozenset({TaskKind.COOPERATION_MEETING})
MUNICIPAL_SECTORS = frozenset({Sector.COMMUNITY_HEALTH, Sector.NAV, Sector.HOUSING})
OFFICE_NAMES = {Sector.NAV: "NAV", Sector.HOUSING: "the housing office"}


def consents_given(consents: Mapping[str, object] | None) -> frozenset[str]:
    """The names of the consents the patient gave, from a transition's recorded answers."""
    return frozenset(name for name, given in (consents or {}).items() if given is True)


# --- substitutes ---------------------------------------------------------------------------


def substitute_refusal(
    absent_member_of: frozenset[str], substitute_member_of: frozenset[str]
) -> str | None:
    """A substitute must already act for one of the absent person's units."""
    if not absent_member_of:
        return (
            "the absent person is no unit's contact or backup, so a substitute would have "
            "nothing to act for: leadership does not pass by substitution"
        )
    if may_stand_in(absent_member_of, substitute_member_of):
        return None
    units = ", ".join(sorted(absent_member_of))
    return f"a substitute must already be a contact or listed backup of {units}"


def eligible_substitutes(
    absent_id: str, absent_member_of: frozenset[str], candidates: Mapping[str, frozenset[str]]
) -> list[str]:
    """The candidates (person id -> units they are members of) who may stand in, in order."""
    return [
        person_id
        for person_id, member_of in candidates.items()
        if person_id != absent_id and substitute_refusal(absent_member_of, member_of) is None
    ]


def units_stood_in_for(
    substitute_member_of: frozenset[str],
    absent_members_of: Mapping[str, frozenset[str]],
    units: Units,
) -> frozenset[str]:
    """The units a substitute acts for through running absences (absent person -> units):
    only where the substitute is eligible, so an old or outgrown absence gives nothing, and
    only units of a service and municipality the substitute already works in. Someone who
    works for two municipalities, or for NAV too, passes neither on to a colleague."""
    home = _services(substitute_member_of, units)
    gained: set[str] = set()
    for member_of in absent_members_of.values():
        if substitute_refusal(member_of, substitute_member_of) is None:
            gained |= {u for u in member_of if _service(u, units) in home}
    return frozenset(gained)


Service = tuple[str | None, Sector]  # (municipality, sector)


def _service(unit_id: str, units: Units) -> Service | None:
    """An unknown unit, or one of no known kind, is no service (deny by default)."""
    found = units.get(unit_id)
    sector = found.sector if found else None
    return (found.municipality_number, sector) if found and sector else None


def _services(unit_ids: Iterable[str], units: Units) -> set[Service | None]:
    return {_service(u, units) for u in unit_ids} - {None}


# --- assignment ----------------------------------------------------------------------------


def assignee_refusal(owner_unit_id: str, assignee_member_of: frozenset[str] | None) -> str | None:
    """A step is assigned to a contact or backup of its owner unit (None: no such person)."""
    if assignee_member_of is None:
        return "no such person in the directory"
    if owner_unit_id in assignee_member_of:
        return None
    return f"not a contact or backup of unit {owner_unit_id}, which owns this step"


# --- forwarding ----------------------------------------------------------------------------


def forward_refusal(
    kind: TaskKind,
    target: UnitFacts | None,
    *,
    owner_unit_id: str,
    origin_unit_id: str,
    consents: frozenset[str],
) -> str | None:
    """Where a rejected step may go: an intake (and every step with health information) to a
    municipal health unit; a handover to a municipal unit, NAV or housing only with consent."""
    if target is None:
        return "no such unit in the directory"
    if kind in NOT_FORWARDED:
        return "the specialist service calls the cooperation meeting itself; it is not forwarded"
    if target.id == owner_unit_id:
        return "cannot forward a step to the unit that owns it"
    if target.id == origin_unit_id or target.is_hospital:
        return (
            "a specialist (hospital) unit: the municipality stays responsible, so a step never "
            "goes back to the discharging unit or to another hospital unit"
        )
    if kind in HANDOVER_KINDS:
        return _handover_refusal(target, consents)
    if target.sector is not Sector.COMMUNITY_HEALTH:
        return (
            "not a municipal health unit: this step carries health information, so it goes "
            "only to a municipality's health services"
        )
    return None


def _handover_refusal(target: UnitFacts, consents: frozenset[str]) -> str | None:
    sector = target.sector
    if sector not in MUNICIPAL_SECTORS:
        return "not a municipal unit"
    consent = CONSENT_FOR_SECTOR.get(sector) if sector else None
    if consent is not None and consent not in consents:
        office = OFFICE_NAMES.get(sector, str(sector)) if sector else ""
        return f"the patient has not consented to share with {office} ({consent})"
    return None


def forward_targets(
    kind: TaskKind,
    units: Iterable[UnitFacts],
    *,
    owner_unit_id: str,
    origin_unit_id: str,
    consents: frozenset[str],
) -> list[UnitFacts]:
    """The units a rejected step may be forwarded to, in the order given."""
    return [
        unit
        for unit in units
        if forward_refusal(
            kind, unit, owner_unit_id=owner_unit_id, origin_unit_id=origin_unit_id,
            consents=consents,
        ) is None
    ]  # fmt: skip
