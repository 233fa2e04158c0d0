"""Who may see what of a patient's transition: one model, as pure functions over relations.

A reader stands in zero or more *relations* to a transition, each derived from a fact of the
directory or of the transition, never from where a unit happens to be located:

- **care**: health personnel working on this transition: the origin DPS/TSB unit, and every
  health unit that holds a step it has not rejected (helsepersonelloven § 25: cooperating
  health personnel share what care needs, unless the patient objects). A unit that rejected
  its step has handed it on and keeps no care relation through it.
- **consent**: a unit outside the care relation that holds a step and may read what the
  patient's consent covers for it: NAV and the housing office with the patient's consent for
  that recipient, and a municipal health unit when the patient has objected to sharing health
  information with the municipal health service. They read their own steps and the patient's
  identity, non-clinical needs, dates and contacts: never LAR, notes, free text or other steps.
- **oversight**: a leader over the transition: a municipality's leader oversees the transitions
  whose receiving municipality is theirs and the steps held by that municipality's own
  (non-hospital) units; a unit's leader oversees the steps their unit holds or held, and, for a
  DPS/TSB, the transitions it started. A hospital unit is never inside a municipality's
  oversight, whatever its address. Oversight sees the process (steps, deadlines, escalation,
  bounces), not the patient's name, voice or clinical detail.
- **emergency** (blålys, Normen): a health worker outside the other relations who opened the
  transition for a limited time with a stated reason; read as care, logged as emergency access
  and listed for the leaders to follow up.

A child handover inherits care, oversight and emergency (not consent) from its parent
discharge: whoever cares for the discharge follows its housing and NAV handovers. A substitute
acts for those units of the person they stand in for that belong to a service and municipality
the substitute already works in (domain.delegation.units_stood_in_for; ``Reader.acting_units``
includes them), so they never read more than that person could, nor cross a border.
Administrators manage the directory and read the audit log; they stand in no relation to any
patient.

What a reader gets is the union of the :class:`Part` sets of their relations (``parts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.actors import Role


class Sector(StrEnum):
    """What a unit is, for access: decides whether its people are health personnel."""

    SPECIALIST = "specialist"  # DPS, TSB: the hospital's units
    COMMUNITY_HEALTH = "community_health"  # the municipality's health and care services
    NAV = "nav"  # NAV-kontoret: not health personnel
    HOUSING = "housing"  # boligkontoret: not health personnel


# Unit kinds the directory knows; an unknown kind has no sector and so no relation (deny by
# default): the directory refuses unknown kinds, so this only guards old or odd rows.
SECTOR_OF_KIND: Mapping[str, Sector] = {
    "dps": Sector.SPECIALIST,
    "tsb": Sector.SPECIALIST,
    "psykisk_helse_rus": Sector.COMMUNITY_HEALTH,
    "home_care": Sector.COMMUNITY_HEALTH,
    "lar_contact": Sector.COMMUNITY_HEALTH,
    "dispensing_site": Sector.COMMUNITY_HEALTH,
    "allocation_office": Sector.COMMUNITY_HEALTH,  # tildelingskontor / koordinerende enhet
    "gp": Sector.COMMUNITY_HEALTH,
    "nav_office": Sector.NAV,
    "housing_office": Sector.HOUSING,
}
HEALTH_SECTORS = frozenset({Sector.SPECIALIST, Sector.COMMUNITY_HEALTH})
# The consent (a field of domain.discharge.Consents) that lets a sector's units read a patient.
CONSENT_FOR_SECTOR: Mapping[Sector, str] = {
    Sector.NAV: "share_with_nav",
    Sector.HOUSING: "share_with_housing_office",
}
# Given by default; when the patient objects, the municipal health units read as under consent.
HEALTH_SHARING_CONSENT = "share_with_municipal_health_service"
CLINICAL_ROLES = frozenset(
    {Role.DISCHARGE_COORDINATOR, Role.LAR_CONSULTANT, Role.LAR_PHYSICIAN, Role.MUNICIPAL_CONTACT}
)
EMERGENCY_ACCESS_FOR = timedelta(hours=4)  # Normen: short-term; a new grant needs a new reason


class Relation(StrEnum):
    CARE = "care"
    CONSENT = "consent"
    OVERSIGHT = "oversight"
    EMERGENCY = "emergency"


class Part(StrEnum):
    """The parts of a transition a reader may receive."""

    SUMMARY = "summary"  # ids, kind, status, municipality, origin unit, dates, internal patient id
    ALL_STEPS = "all_steps"  # every step with its deadlines, escalation and events (no free text)
    OWN_STEPS = "own_steps"  # the steps the reader's units hold, with their events (no free text)
    FAMILY = "family"  # the child handovers, projected with the same parts
    IDENTITY = "identity"  # the patient's name
    NEEDS_AND_CONTACTS = "needs_and_contacts"  # non-clinical needs, who to contact, the purpose
    VOICE = "voice"  # "Hva er viktig for deg?": the patient's own words
    CLINICAL = "clinical"  # LAR, relatives, consents, notes, reasons, free text on the timeline


PARTS_OF: Mapping[Relation, frozenset[Part]] = {
    Relation.CARE: frozenset(Part),
    Relation.EMERGENCY: frozenset(Part),
    Relation.CONSENT: frozenset(
        {Part.SUMMARY, Part.OWN_STEPS, Part.IDENTITY, Part.NEEDS_AND_CONTACTS}
    ),
    Relation.OVERSIGHT: frozenset({Part.SUMMARY, Part.ALL_STEPS, Part.FAMILY}),
}
INHERITED_FROM_PARENT = frozenset({Relation.CARE, Relation.OVERSIGHT, Relation.EMERGENCY})
# Needs a reader under consent may see: what NAV and housing act on, nothing clinical.
NON_CLINICAL_NEEDS = frozenset({"housing", "nav"})
# Timeline detail keys that carry no free text and no clinical content; every other key (reason,
# note, comment, participants, view, coordinator, …) is clinical. An allowlist, so a new key is
# hidden until someone decides it is safe.
PROCESS_DETAIL_KEYS = frozenset(
    {
        "task_kind", "owner_unit_id", "due_at", "policy", "level", "notify", "channels",
        "next_at", "channel", "person_id", "unit_id", "sent_at", "on_behalf_of", "from_unit_id",
        "to_unit_id", "forward_to_unit_id", "new_task_id", "bounces", "units", "assignee_id",
        "handover_kind", "handover_transition_id", "starts_at", "outcome", "old", "new",
        "held_on", "contacted_on", "day", "began_at", "rate_nok", "meeting_called",
        "waiting_days", "planned", "within", "effective_date", "answer", "attempts",
    }
)  # fmt: skip


class UnitFacts(BaseModel, frozen=True):
    id: str
    kind: str
    municipality_number: str | None = None

    @property
    def sector(self) -> Sector | None:
        return SECTOR_OF_KIND.get(self.kind)

    @property
    def is_hospital(self) -> bool:
        return self.sector is Sector.SPECIALIST


class Reader(BaseModel, frozen=True):
    """A person as the model sees them at one moment."""

    person_id: str
    roles: frozenset[Role] = Field(default_factory=frozenset)
    member_of: frozenset[str] = Field(default_factory=frozenset)  # contact or listed backup
    standing_in_for: frozenset[str] = Field(
        default_factory=frozenset, description="Units of the people they substitute for now."
    )
    leads_units: frozenset[str] = Field(default_factory=frozenset)
    leads_municipalities: frozenset[str] = Field(default_factory=frozenset)
    emergency_grants: frozenset[str] = Field(
        default_factory=frozenset, description="Transitions opened with emergency access, live now."
    )

    @property
    def acting_units(self) -> frozenset[str]:
        return self.member_of | self.standing_in_for


class Step(BaseModel, frozen=True):
    owner_unit_id: str
    rejected: bool = False


class TransitionFacts(BaseModel, frozen=True):
    id: str
    municipality_number: str  # the receiving municipality
    origin_unit_id: str
    steps: tuple[Step, ...] = ()
    consents: frozenset[str] = Field(
        default_factory=lambda: frozenset({HEALTH_SHARING_CONSENT}),
        description="The names of the consents the patient gave (domain.discharge.Consents).",
    )
    parent: TransitionFacts | None = None

    def holders(self, *, including_rejected: bool) -> frozenset[str]:
        """Units holding a step (that they have not rejected, unless asked)."""
        return frozenset(
            s.owner_unit_id for s in self.steps if including_rejected or not s.rejected
        )


Units = Mapping[str, UnitFacts]


def sector_of(units: Units, unit_id: str) -> Sector | None:
    unit = units.get(unit_id)
    return unit.sector if unit else None


def reads_under_consent(sector: Sector | None, consents: frozenset[str]) -> bool:
    """A step holder outside care that the patient's consent (or objection) limits."""
    consent = CONSENT_FOR_SECTOR.get(sector) if sector else None
    if consent is not None:
        return consent in consents
    return sector is Sector.COMMUNITY_HEALTH and HEALTH_SHARING_CONSENT not in consents


def in_care(sector: Sector | None, consents: frozenset[str]) -> bool:
    if sector is Sector.SPECIALIST:
        return True
    return sector is Sector.COMMUNITY_HEALTH and HEALTH_SHARING_CONSENT in consents


def _step_relations(reader: Reader, t: TransitionFacts, units: Units) -> set[Relation]:
    found: set[Relation] = set()
    for unit_id in reader.acting_units & t.holders(including_rejected=False):
        sector = sector_of(units, unit_id)
        if in_care(sector, t.consents):
            found.add(Relation.CARE)
        elif reads_under_consent(sector, t.consents):
            found.add(Relation.CONSENT)
    return found


def overseen_units(reader: Reader, units: Units) -> frozenset[str]:
    """The units whose steps a leader oversees: those they lead, and their municipality's own
    units (never a hospital unit located there)."""
    municipal = {
        u.id
        for u in units.values()
        if u.municipality_number in reader.leads_municipalities and not u.is_hospital
    }
    return reader.leads_units | municipal


def oversees(reader: Reader, t: TransitionFacts, units: Units) -> bool:
    if t.municipality_number in reader.leads_municipalities:
        return True
    led_origin = t.origin_unit_id in reader.leads_units
    return led_origin or bool(overseen_units(reader, units) & t.holders(including_rejected=True))


def own_relations(reader: Reader, t: TransitionFacts, units: Units) -> set[Relation]:
    """Relations from the transition's own facts (nothing inherited)."""
    found = _step_relations(reader, t, units)
    if t.origin_unit_id in reader.acting_units and in_care(
        sector_of(units, t.origin_unit_id), t.consents
    ):
        found.add(Relation.CARE)
    if oversees(reader, t, units):
        found.add(Relation.OVERSIGHT)
    if t.id in reader.emergency_grants:
        found.add(Relation.EMERGENCY)
    return found


def relations(reader: Reader, t: TransitionFacts, units: Units) -> frozenset[Relation]:
    """Every relation the reader stands in to the transition, inherited ones included."""
    found = own_relations(reader, t, units)
    if t.parent is not None:
        found |= relations(reader, t.parent, units) & INHERITED_FROM_PARENT
    return frozenset(found)


def parts(found: Iterable[Relation]) -> frozenset[Part]:
    """What the reader receives: the union over their relations; empty means nothing."""
    return frozenset(part for relation in found for part in PARTS_OF[relation])


# Strongest first: the relation that grants the most names the read. Emergency comes before
# consent and oversight, so a read that only emergency access makes clinical is logged (and
# followed up) as emergency access, never as oversight.
PURPOSE_ORDER = (Relation.CARE, Relation.EMERGENCY, Relation.CONSENT, Relation.OVERSIGHT)


def purpose(found: Iterable[Relation]) -> str:
    """The reason for access the audit log records, strongest relation first."""
    ordered = [r for r in PURPOSE_ORDER if r in set(found)]
    return ordered[0].value if ordered else "none"


def is_health_worker(reader: Reader, units: Units) -> bool:
    """May open a transition with emergency access: a clinician of a health unit."""
    clinical = bool(reader.roles & CLINICAL_ROLES)
    health_unit = any(sector_of(units, u) in HEALTH_SECTORS for u in reader.member_of)
    return clinical and health_unit


def may_open_in_emergency(reader: Reader, t: TransitionFacts, units: Units) -> str | None:
    """Why the reader may not open the transition with emergency access, or None if they may:
    a health worker (is_health_worker) without a care relation to it."""
    if not is_health_worker(reader, units):
        return "only health personnel of a health unit may use emergency access"
    if Relation.CARE in relations(reader, t, units):
        return "you already read this transition for care; emergency access is not needed"
    return None


def follows_up(
    reader: Reader, grantee_units: frozenset[str], origin_unit_id: str, units: Units
) -> bool:
    """Whether a leader follows up an emergency access: it was used by someone of a unit they
    oversee, or on a transition one of those units started."""
    return bool((grantee_units | {origin_unit_id}) & overseen_units(reader, units))


# Who may read a patient's access log (who read their data, and why): those who care for
# them, leaders who follow up access, and an emergency reader (to see their own use logged).
# A consent reader (NAV, housing) may not: the log names every service involved.
ACCESS_LOG_RELATIONS = frozenset({Relation.CARE, Relation.OVERSIGHT, Relation.EMERGENCY})


def reads_access_log(found: Iterable[Relation]) -> bool:
    return bool(ACCESS_LOG_RELATIONS & set(found))


def may_stand_in(absent_member_of: frozenset[str], substitute_member_of: frozenset[str]) -> bool:
    """A substitute must already act for one of the absent person's units (as contact or listed
    backup): a colleague, never someone from another service or municipality."""
    return bool(absent_member_of & substitute_member_of)


def process_detail(detail: Mapping[str, str]) -> dict[str, str]:
    """A timeline event's detail without free text or clinical content."""
    return {key: value for key, value in detail.items() if key in PROCESS_DETAIL_KEYS}


def visible_needs(needs: Mapping[str, bool], shown: frozenset[Part]) -> dict[str, bool]:
    """The needs a reader may see: all under care, the non-clinical ones under consent."""
    if Part.CLINICAL in shown:
        return dict(needs)
    if Part.NEEDS_AND_CONTACTS in shown:
        return {k: v for k, v in needs.items() if k in NON_CLINICAL_NEEDS}
    return {}
