"""Who may do what: every authorization decision of the API, in one place.

Each rule is a plain function of the caller and the thing acted on; routes call them, a
refusal becomes 403 with the reason (and an audit row, see api.audit.refusals), and a
permitted read returns its purpose, which the audit log records as the reason for access.

The rules (tests/api/test_authorization.py holds them as a table):
- discharge coordinators and LAR consultants start and drive transitions from their own
  DPS/TSB unit;
- municipal contacts (anyone, really) see and act on tasks of the units they act for;
- people involved in a transition (its origin unit or a unit holding one of its tasks) read
  it, for care; leaders read everything in their scope (units they lead or belong to, and
  every unit of a municipality they lead), for oversight;
- administrators manage the directory and policies and read the audit log, not patient data;
- NAV and housing offices are not health personnel: they see health details (what matters
  to the patient, timeline details) only if the patient consented to share with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.errors import Problem
from domain.actors import Actor, Role
from store.transition_search import Visibility

DPS_UNIT_KINDS = frozenset({"dps", "tsb"})
# Recipient unit kind -> the consent (transitions.details["consents"]) that lets it see
# health details.
CONSENT_FOR_RECIPIENT = {
    "nav_office": "share_with_nav",
    "housing_office": "share_with_housing_office",
}
CARE = "care"
OVERSIGHT = "leader oversight"
ADMINISTRATION = "administration"


PatientRef = tuple[str | None, str | None]  # (patient id, transition id)


class Forbidden(Problem):
    """A refusal; `patients` names whose data it concerns, for their access logs (never
    sent in the answer)."""

    def __init__(self, reason: str, *, patients: Sequence[PatientRef] = ()) -> None:
        super().__init__(403, "Forbidden", reason)
        self.patients = list(patients)


@dataclass(frozen=True)
class Scope:
    """What a caller may read: the units they act for, plus what they lead."""

    actor: Actor
    led_unit_ids: frozenset[str] = field(default_factory=frozenset)
    led_municipalities: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_leader(self) -> bool:
        return self.actor.has_role(Role.LEADER)

    @property
    def is_administrator(self) -> bool:
        return self.actor.has_role(Role.ADMINISTRATOR)

    @property
    def readable_unit_ids(self) -> frozenset[str]:
        return self.actor.unit_ids | (self.led_unit_ids if self.is_leader else frozenset())

    @property
    def readable_municipalities(self) -> frozenset[str]:
        return self.led_municipalities if self.is_leader else frozenset()


def require(allowed: bool, reason: str) -> None:
    if not allowed:
        raise Forbidden(reason)


def may_start_transition(actor: Actor, origin_unit_id: str) -> None:
    require(
        actor.has_role(Role.DISCHARGE_COORDINATOR) or actor.has_role(Role.LAR_CONSULTANT),
        "only discharge coordinators and LAR consultants start transitions",
    )
    require(actor.acts_for(origin_unit_id), f"you do not act for unit {origin_unit_id}")


def may_drive_transition(actor: Actor, origin_unit_id: str) -> None:
    """Ready for discharge, discharged, cancel, meeting: the origin unit's coordinators."""
    require(
        actor.has_role(Role.DISCHARGE_COORDINATOR)
        or actor.has_role(Role.LAR_CONSULTANT)
        or actor.has_role(Role.LAR_PHYSICIAN),
        "only discharge coordinators and LAR consultants or physicians act on transitions",
    )
    require(
        actor.acts_for(origin_unit_id),
        f"this transition belongs to unit {origin_unit_id}, which you do not act for",
    )


def may_act_on_task(actor: Actor, owner_unit_id: str) -> None:
    require(
        actor.acts_for(owner_unit_id),
        f"this task belongs to unit {owner_unit_id}, which you are not a contact of",
    )


def view_transition(
    scope: Scope, origin_unit_id: str, municipality_number: str, task_unit_ids: Iterable[str]
) -> str:
    """The purpose the caller reads this transition for; refuses if they have none."""
    involved = {origin_unit_id, *task_unit_ids}
    if involved & scope.actor.unit_ids:
        return CARE
    if involved & scope.readable_unit_ids or municipality_number in scope.readable_municipalities:
        return OVERSIGHT
    raise Forbidden("you are not involved in this transition, and it is outside the units you lead")


def view_task(scope: Scope, owner_unit_id: str, origin_unit_id: str, municipality: str) -> str:
    """A single task (e.g. FHIR Task): its owner, the transition's origin, or a leader."""
    return view_transition(scope, origin_unit_id, municipality, [owner_unit_id])


def may_read_oversight(scope: Scope) -> str:
    """Stalled transitions and the event feed: leaders (their scope) and administrators."""
    require(
        scope.is_leader or scope.is_administrator,
        "only leaders and administrators see the oversight reports",
    )
    return OVERSIGHT if scope.is_leader else ADMINISTRATION


def may_read_audit_log(scope: Scope) -> None:
    require(scope.is_administrator, "only administrators read the whole audit log")


def may_read_access_log(
    scope: Scope, care_team_unit_ids: set[str], municipalities: set[str]
) -> str:
    """A patient's access log: administrators, leaders over them, or their care team."""
    if scope.is_administrator:
        return ADMINISTRATION
    if care_team_unit_ids & scope.actor.unit_ids:
        return CARE
    if (
        care_team_unit_ids & scope.readable_unit_ids
        or municipalities & scope.readable_municipalities
    ):
        return OVERSIGHT
    raise Forbidden(
        "only administrators, leaders over the patient's services and the patient's care team "
        "read a patient's access log"
    )


def may_manage_directory(actor: Actor) -> None:
    require(
        actor.has_role(Role.ADMINISTRATOR),
        "only administrators change the directory (units, people, policies)",
    )


def sees_health_details(unit_kind: str | None, consents: Mapping[str, Any]) -> bool:
    """Data minimisation per recipient: NAV and housing need the patient's consent."""
    consent = CONSENT_FOR_RECIPIENT.get(unit_kind or "")
    return consent is None or bool(consents.get(consent, False))


def viewer_sees_health_details(
    scope: Scope,
    municipality_number: str,
    unit_kinds: Mapping[str, str],
    consents: Mapping[str, Any],
) -> bool:
    """Whether any unit through which the caller reaches this transition may see details.

    unit_kinds maps the transition's units (origin and task owners) to their kinds."""
    if municipality_number in scope.readable_municipalities:
        return True
    via = scope.readable_unit_ids & set(unit_kinds)
    return any(sees_health_details(unit_kinds[unit], consents) for unit in via)


def visibility(scope: Scope, *, administrators_see_all: bool = False) -> Visibility:
    """What lists show the caller: their readable units and led municipalities."""
    return Visibility(
        everything=administrators_see_all and scope.is_administrator,
        unit_ids=scope.readable_unit_ids,
        municipalities=scope.readable_municipalities,
    )


def may_record_for_municipality(actor: Actor, municipal_unit_ids: Iterable[str]) -> None:
    units = set(municipal_unit_ids)
    require(
        bool(units & actor.unit_ids),
        f"only the municipal units of this transition ({', '.join(sorted(units))}) may do this",
    )


def may_propose_lar_change(actor: Actor, origin_unit_id: str) -> None:
    require(
        actor.has_role(Role.LAR_CONSULTANT) or actor.has_role(Role.LAR_PHYSICIAN),
        "only LAR consultants and LAR physicians propose LAR changes",
    )
    require(actor.acts_for(origin_unit_id), f"you do not act for unit {origin_unit_id}")


def may_override_lar_consultation(actor: Actor, origin_unit_id: str) -> None:
    require(
        actor.has_role(Role.LAR_PHYSICIAN),
        "only a LAR physician may override the municipality's consultation",
    )
    require(actor.acts_for(origin_unit_id), f"you do not act for unit {origin_unit_id}")


def may_transfer_portfolio(actor: Actor, origin_unit_id: str) -> None:
    require(
        actor.has_role(Role.DISCHARGE_COORDINATOR) or actor.has_role(Role.LEADER),
        "only discharge coordinators and leaders transfer a portfolio",
    )
    require(actor.acts_for(origin_unit_id), f"you do not act for unit {origin_unit_id}")
