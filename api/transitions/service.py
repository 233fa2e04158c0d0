"""Sending commands to a transition's workflow; reading one is api.transitions.detail."""

from __future__ import annotations

import functools
from collections.abc import Callable

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api import idempotency
from api.auth import access as reading
from api.auth import policy
from api.errors import Problem
from api.tasks.schemas import TaskPublic
from api.transitions.detail import get_transition
from api.transitions.detail import transition_detail as transition_detail  # the pages' import
from api.transitions.schemas import TransitionState
from domain.actors import Actor
from domain.tasks import Task
from store import inbox as queries
from store.tables import Transition
from workflows.transition import TransitionView


async def municipal_unit_ids(session: AsyncSession, transition: Transition) -> set[str]:
    """Units that hold (or held) a step of the transition, other than the origin."""
    tasks = await queries.tasks_of(session, transition.id)
    return {t.owner_unit_id for t in tasks} - {transition.origin_unit_id}


async def send(temporal: Client, transition: Transition, command: BaseModel) -> TransitionState:
    """Run a command as the workflow's Update; a refusal arrives as WorkflowUpdateFailedError."""
    handle = temporal.get_workflow_handle(transition.workflow_id)
    closed = functools.partial(require_active, transition)
    view = await idempotency.execute_update(
        handle, command, TransitionView, refuse_when_closed=closed
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
    await reading.require_relation(session, actor, transition)
    return transition


def require_kind(transition: Transition, kind: str, command: str) -> None:
    if transition.kind != kind:
        raise Problem(
            409,
            "Command refused",
            f"{command} applies to {kind} transitions, not {transition.kind}",
        )


async def send_for_task(temporal: Client, transition: Transition, command: BaseModel) -> TaskPublic:
    """A command that closes one step (meeting held, first contact): answers with that step."""
    handle = temporal.get_workflow_handle(transition.workflow_id)
    closed = functools.partial(require_active, transition)
    task = await idempotency.execute_update(handle, command, Task, refuse_when_closed=closed)
    return TaskPublic.from_task(task)


def require_active(transition: Transition) -> None:
    """A finished transition's workflow has closed: refuse with its status, not a 404."""
    if transition.status != "active":
        raise Problem(409, "Command refused", f"the transition is already {transition.status}")
