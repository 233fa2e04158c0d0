"""Who may do what: the command rules of the API, in one place; reads ask the access model.

Each rule is a plain function of the caller and the thing acted on; routes call them, and a
refusal becomes 403 with the reason (and an audit row, see api.audit.refusals, carrying the
patient when the refusal concerns one).

What a caller may *read* of a patient is not decided here: domain.access is the one access
model (care, consent, oversight, emergency access), and api.auth.access applies it to every
read path. The command rules:
- discharge coordinators and LAR consultants start and drive transitions from their own
  DPS/TSB unit;
- municipal contacts act on tasks of the units they act for;
- administrators manage the directory and policies, read the audit log, the notifications
  that were not delivered and the mail catcher's e-mail, not patient data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from api.errors import Problem
from domain.actors import Actor, Role

DPS_UNIT_KINDS = frozenset({"dps", "tsb"})
ADMINISTRATION = "administration"  # the audit purpose of directory and policy changes
PatientRef = tuple[str | None, str | None]  # (patient id, transition id)


class Forbidden(Problem):
    """A refusal; `patients` names whose data it concerns, for their access logs (never
    sent in the answer)."""

    def __init__(self, reason: str, *, patients: Sequence[PatientRef] = ()) -> None:
        super().__init__(403, "Forbidden", reason)
        self.patients = list(patients)


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


def may_read_oversight(actor: Actor) -> None:
    """The leaders' pages (stalled transitions, charts): leaders only. What each row shows
    is the access model's decision, as on every read."""
    require(actor.has_role(Role.LEADER), "only leaders see the oversight pages")


def may_read_audit_log(actor: Actor) -> None:
    require(actor.has_role(Role.ADMINISTRATOR), "only administrators read the whole audit log")


def may_read_caught_mail(actor: Actor) -> None:
    require(
        actor.has_role(Role.ADMINISTRATOR),
        "only administrators read the e-mail the mail catcher caught",
    )


def may_read_delivery_failures(actor: Actor) -> None:
    """Operating the notification channels is administration: no patient data is listed."""
    require(
        actor.has_role(Role.ADMINISTRATOR),
        "only administrators see the notifications that were not delivered",
    )


def may_manage_directory(actor: Actor) -> None:
    require(
        actor.has_role(Role.ADMINISTRATOR),
        "only administrators change the directory (units, people, policies)",
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
