"""Reading a transition (with its child handovers) and sending commands to its workflow."""

from __future__ import annotations

import functools
from collections.abc import Callable

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api import idempotency
from api.audit import recorder
from api.auth import policy
from api.auth.policy import Scope
from api.errors import Problem
from api.tasks.schemas import TaskPublic
from api.transitions.schemas import (
    ChildTransition,
    EventPublic,
    TransitionDetail,
    TransitionState,
)
from domain.actors import Actor
from domain.tasks import Task
from store import directory, transition_family, transition_search
from store import inbox as queries
from store.tables import Transition
from workflows.transition import TransitionView


async def get_transition(session: AsyncSession, transition_id: str) -> Transition:
    transition = await queries.get_transition(session, transition_id)
    if transition is None:
        raise Problem(404, "Not found", f"no transition {transition_id}")
    return transition


async def transition_detail(
    session: AsyncSession, scope: Scope, transition_id: str
) -> TransitionDetail:
    transition = await get_transition(session, transition_id)
    children = await transition_family.children_of(session, transition_id)
    family = [transition_id, *(child.id for child in children)]
    tasks = await transition_family.tasks_of_many(session, family)
    units = {transition.origin_unit_id, *(t.owner_unit_id for t in tasks)}
    purpose = policy.view_transition(
        scope, transition.origin_unit_id, transition.municipality_number, units
    )
    await recorder.record(
        session,
        scope.actor,
        patient_id=transition.patient_id,
        transition_id=transition.id,
        purpose=purpose,
    )
    details = policy.viewer_sees_health_details(
        scope,
        transition.municipality_number,
        await directory.unit_kinds(session, units),
        transition.details.get("consents", {}),
    )
    events = await transition_family.events_of_many(session, family)
    waiting_days = await transition_search.waiting_days(session, [transition.id])
    return TransitionDetail(
        id=transition.id,
        kind=transition.kind,
        status=transition.status,
        municipality_number=transition.municipality_number,
        origin_unit_id=transition.origin_unit_id,
        started_by=transition.started_by,
        started_at=transition.started_at,
        expected_discharge_date=transition.expected_discharge_date,
        ready_at=transition.ready_at,
        discharged_at=transition.discharged_at,
        what_matters=transition.what_matters if details else None,
        waiting_days=waiting_days.get(transition.id, 0),
        children=[_child(c) for c in children],
        tasks=[TaskPublic.from_row(t) for t in tasks],
        timeline=[EventPublic.from_row(e, with_detail=details) for e in events],
    )


def _child(row: Transition) -> ChildTransition:
    return ChildTransition(
        id=row.id, kind=row.kind, status=row.status, handover_kind=row.details.get("handover_kind")
    )


async def municipal_unit_ids(session: AsyncSession, transition: Transition) -> set[str]:
    """Units that hold (or held) a step of the transition, other than the origin."""
    tasks = await queries.tasks_of(session, transition.id)
    return {t.owner_unit_id for t in tasks} - {transition.origin_unit_id}


async def send(
    temporal: Client, transition: Transition, update: str, command: BaseModel
) -> TransitionState:
    """Run a command as the workflow's Update; a refusal arrives as WorkflowUpdateFailedError."""
    handle = temporal.get_workflow_handle(transition.workflow_id)
    closed = functools.partial(require_active, transition)
    view = await idempotency.execute_update(
        handle, update, command, TransitionView, refuse_when_closed=closed
    )
    return state_of(view)


def state_of(view: TransitionView) -> TransitionState:
    return TransitionState(
        id=view.transition_id,
        status=view.status.value,
        tasks=[TaskPublic.from_task(t) for t in view.tasks],
    )


OriginRule = Callable[[Actor, str], None]


async def commanded_by_origin(
    session: AsyncSession,
    actor: Actor,
    transition_id: str,
    *,
    kind: str | None = None,
    what: str = "",
    rule: OriginRule = policy.may_drive_transition,
) -> Transition:
    """The transition a command from the origin DPS/TSB is about: it exists, is of the kind
    the command applies to, and `rule` lets the actor drive it from its origin unit."""
    transition = await get_transition(session, transition_id)
    if kind is not None:
        require_kind(transition, kind, what)
    rule(actor, transition.origin_unit_id)
    return transition


async def commanded_by_municipality(
    session: AsyncSession, actor: Actor, transition_id: str, *, kind: str, what: str
) -> Transition:
    """The transition a municipal recording is about, recorded by a unit holding a step of it."""
    transition = await get_transition(session, transition_id)
    require_kind(transition, kind, what)
    policy.may_record_for_municipality(actor, await municipal_unit_ids(session, transition))
    return transition


def require_kind(transition: Transition, kind: str, command: str) -> None:
    if transition.kind != kind:
        raise Problem(
            409,
            "Command refused",
            f"{command} applies to {kind} transitions, not {transition.kind}",
        )


async def send_for_task(
    temporal: Client, transition: Transition, update: str, command: BaseModel
) -> TaskPublic:
    """A command that closes one step (meeting held, first contact): answers with that step."""
    handle = temporal.get_workflow_handle(transition.workflow_id)
    closed = functools.partial(require_active, transition)
    task = await idempotency.execute_update(
        handle, update, command, Task, refuse_when_closed=closed
    )
    return TaskPublic.from_task(task)


def require_active(transition: Transition) -> None:
    """A finished transition's workflow has closed: refuse with its status, not a 404."""
    if transition.status != "active":
        raise Problem(409, "Command refused", f"the transition is already {transition.status}")
