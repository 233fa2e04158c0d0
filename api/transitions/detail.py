"""One transition with its child handovers, as the caller may read it (domain.access).

The transition and its children are opened together (their facts in one batch); each member
of the family shows the steps and timeline its own access gives, and the transition's
fields follow the caller's parts (api.auth.projection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.auth import access as reading
from api.auth import projection
from api.auth.access import Access, Scope
from api.errors import Problem
from api.tasks.schemas import TaskPublic
from api.transitions.schemas import ChildTransition, EventPublic, TransitionDetail
from domain.access import Part, Units
from domain.timeline import EventKind
from store import inbox as queries
from store import transition_family
from store.tables import EventRow, TaskRow, Transition


async def get_transition(session: AsyncSession, transition_id: str) -> Transition:
    transition = await queries.get_transition(session, transition_id)
    if transition is None:
        raise Problem(404, "Not found", f"no transition {transition_id}")
    return transition


@dataclass(frozen=True)
class Family:
    """The transition's and its visible children's steps and events, as the caller sees them."""

    tasks: list[TaskPublic]
    timeline: list[EventPublic]
    waiting_days: int


def _member_view(
    access: Access, tasks: list[TaskRow], events: list[EventRow], own: frozenset[str]
) -> tuple[list[TaskPublic], list[EventPublic]]:
    steps = projection.visible_steps(access, tasks, own)
    shown = projection.visible_events(access, events, {t.id for t in steps})
    return (
        [projection.task_public(t, access) for t in steps],
        [projection.event_public(e, access) for e in shown],
    )


async def _family(
    session: AsyncSession, scope: Scope, members: list[Access], transition_id: str
) -> Family:
    ids = [m.transition.id for m in members]
    tasks = await transition_family.tasks_of_many(session, ids)
    events = await transition_family.events_of_many(session, ids)
    shown_tasks: list[TaskPublic] = []
    shown_events: list[EventPublic] = []
    for member in members:
        mine = member.transition.id
        member_tasks, member_events = _member_view(
            member,
            [t for t in tasks if t.transition_id == mine],
            [e for e in events if e.transition_id == mine],
            reading.own_units(scope),
        )
        shown_tasks += member_tasks
        shown_events += member_events
    waiting = sum(
        1 for e in events if e.transition_id == transition_id and e.kind == EventKind.WAITING_DAY
    )
    return Family(shown_tasks, shown_events, waiting)


def _child(row: Transition) -> ChildTransition:
    return ChildTransition(
        id=row.id, kind=row.kind, status=row.status, handover_kind=row.details.get("handover_kind")
    )


def _lar_change(details: dict[str, Any]) -> dict[str, Any] | None:
    keys = ("proposal", "effective_date", "lar_contact_unit_id", "dispensing_unit_id")
    found = {k: details[k] for k in keys if k in details}
    return found or None


def _clinical(access: Access, details: dict[str, Any]) -> dict[str, Any]:
    if not access.shows(Part.CLINICAL):
        return {}
    return {
        "consents": details.get("consents"),
        "relatives": details.get("relatives"),
        "serving_sentence": details.get("serving_sentence"),
        "lar_change": _lar_change(details),
    }


def _needs_and_contacts(access: Access, row: Transition) -> dict[str, Any]:
    if not access.shows(Part.NEEDS_AND_CONTACTS):
        return {}
    details = row.details or {}
    return {
        "purpose": details.get("purpose"),
        "contact_person_id": details.get("coordinator_id") or row.started_by,
    }


def _parent_id(scope: Scope, access: Access, units: Units) -> str | None:
    """The parent's id, only for a caller who may open the parent."""
    if not reading.parent_access(scope, access, units):
        return None
    return access.facts.parent.id if access.facts.parent else None


async def transition_detail(
    session: AsyncSession, scope: Scope, transition_id: str
) -> TransitionDetail:
    row = await get_transition(session, transition_id)
    children = await transition_family.children_of(session, transition_id)
    found = await reading.accesses(session, scope, [row, *children])
    access = reading.require(found.get(row.id), row)
    await _record(session, scope, access)
    shown_children = [c for c in children if access.shows(Part.FAMILY)]
    members = [access, *(a for c in shown_children if (a := found.get(c.id)) and a.parts)]
    family = await _family(session, scope, members, transition_id)
    return _detail(scope, access, found, family, shown_children)


def _detail(
    scope: Scope,
    access: Access,
    found: reading.Accesses,
    family: Family,
    children: list[Transition],
) -> TransitionDetail:
    row = access.transition
    details = row.details or {}
    return TransitionDetail(
        id=row.id,
        kind=row.kind,
        status=row.status,
        municipality_number=row.municipality_number,
        origin_unit_id=row.origin_unit_id,
        started_by=row.started_by,
        started_at=row.started_at,
        expected_discharge_date=row.expected_discharge_date,
        ready_at=row.ready_at,
        discharged_at=row.discharged_at,
        relations=sorted(access.relations),
        parts=sorted(access.parts),
        handover_kind=details.get("handover_kind"),
        parent_transition_id=_parent_id(scope, access, found.units),
        # The name given on this transition: another discharge's name never shows here.
        patient_name=projection.when(access, Part.IDENTITY, row.patient_name),
        what_matters=projection.when(access, Part.VOICE, row.what_matters),
        needs=projection.needs(details, access),
        **_needs_and_contacts(access, row),
        **_clinical(access, details),
        waiting_days=family.waiting_days,
        children=[_child(c) for c in children] if access.shows(Part.FAMILY) else None,
        tasks=family.tasks,
        timeline=family.timeline,
    )


async def _record(session: AsyncSession, scope: Scope, access: Access) -> None:
    patient_id, transition_id = access.read_ref
    await recorder.record(
        session,
        scope.actor,
        patient_id=patient_id,
        transition_id=transition_id,
        purpose=access.purpose,
        reason=await reading.emergency_reason(session, scope, access),
    )
