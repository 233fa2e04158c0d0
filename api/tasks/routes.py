from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActorDep, ScopeDep, SessionDep, TemporalDep
from api.idempotency import IdempotentRoute
from api.tasks import checks, service
from api.tasks.schemas import AssignBody, CompleteBody, InboxItem, RejectBody, TaskPublic
from domain.commands import (
    AcceptTask,
    AcknowledgeTask,
    AssignTask,
    CompleteTask,
    RejectTask,
    StartTask,
)

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], route_class=IdempotentRoute)


@router.get("", response_model=list[InboxItem])
async def inbox(
    scope: ScopeDep, session: SessionDep, include_closed: bool = False
) -> list[InboxItem]:
    """The caller's inbox: tasks of the units they act for, soonest due first."""
    return await service.inbox(session, scope, open_only=not include_closed)


@router.post("/{task_id}/acknowledge", response_model=TaskPublic)
async def acknowledge(
    task_id: str, actor: ActorDep, session: SessionDep, temporal: TemporalDep
) -> TaskPublic:
    """Kvittere: confirm the unit has received the task. Stops its escalation."""
    row = await service.task_for_command(session, actor, task_id)
    return await service.send_command(temporal, row, AcknowledgeTask(task_id=task_id, actor=actor))


@router.post("/{task_id}/accept", response_model=TaskPublic)
async def accept(
    task_id: str, actor: ActorDep, session: SessionDep, temporal: TemporalDep
) -> TaskPublic:
    row = await service.task_for_command(session, actor, task_id)
    return await service.send_command(temporal, row, AcceptTask(task_id=task_id, actor=actor))


@router.post("/{task_id}/reject", response_model=TaskPublic)
async def reject(
    task_id: str, body: RejectBody, actor: ActorDep, session: SessionDep, temporal: TemporalDep
) -> TaskPublic:
    """Reject with a reason, optionally forwarding the task to another unit: an intake only to
    a municipal health unit, a handover to a municipal unit (NAV or housing with consent)."""
    row = await service.task_for_command(session, actor, task_id)
    command = RejectTask(
        task_id=task_id, actor=actor, reason=body.reason, forward_to_unit_id=body.forward_to_unit_id
    )
    await checks.check(session, row, command)
    return await service.send_command(temporal, row, command)


@router.post("/{task_id}/start", response_model=TaskPublic)
async def start(
    task_id: str, actor: ActorDep, session: SessionDep, temporal: TemporalDep
) -> TaskPublic:
    row = await service.task_for_command(session, actor, task_id)
    return await service.send_command(temporal, row, StartTask(task_id=task_id, actor=actor))


@router.post("/{task_id}/complete", response_model=TaskPublic)
async def complete(
    task_id: str, body: CompleteBody, actor: ActorDep, session: SessionDep, temporal: TemporalDep
) -> TaskPublic:
    row = await service.task_for_command(session, actor, task_id)
    command = CompleteTask(task_id=task_id, actor=actor, note=body.note)
    return await service.send_command(temporal, row, command)


@router.post("/{task_id}/assign", response_model=TaskPublic)
async def assign(
    task_id: str, body: AssignBody, actor: ActorDep, session: SessionDep, temporal: TemporalDep
) -> TaskPublic:
    """Assign the step to a contact or backup of its owner unit."""
    row = await service.task_for_command(session, actor, task_id)
    command = AssignTask(task_id=task_id, actor=actor, assignee_id=body.assignee_id)
    await checks.check(session, row, command)
    return await service.send_command(temporal, row, command)
