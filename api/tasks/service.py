"""The municipal contact's inbox and commands; commands go to the owning workflow as Updates."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api import idempotency
from api.audit import recorder
from api.auth import policy
from api.errors import Problem
from api.tasks.schemas import InboxItem, TaskPublic
from domain.actors import Actor
from domain.tasks import Task
from store import directory
from store import inbox as queries
from store.tables import TaskRow


async def inbox(session: AsyncSession, actor: Actor, *, open_only: bool) -> list[InboxItem]:
    rows = await queries.inbox(session, actor.unit_ids, open_only=open_only)
    kinds = await directory.unit_kinds(session, {task.owner_unit_id for task, _ in rows})
    await recorder.record_reads(
        session, actor, "inbox.read", ((t.patient_id, t.id) for _, t in rows)
    )
    return [
        InboxItem(
            task=TaskPublic.from_row(task),
            patient_name=transition.patient_name,
            # NAV and the housing office see what matters only with the patient's consent.
            what_matters=transition.what_matters
            if policy.sees_health_details(
                kinds.get(task.owner_unit_id), transition.details.get("consents", {})
            )
            else None,
            municipality_number=transition.municipality_number,
            origin_unit_id=transition.origin_unit_id,
        )
        for task, transition in rows
    ]


async def task_for_command(session: AsyncSession, actor: Actor, task_id: str) -> TaskRow:
    row = await queries.get_task(session, task_id)
    if row is None:
        raise Problem(404, "Not found", f"no task {task_id}")
    policy.may_act_on_task(actor, row.owner_unit_id)
    transition = await queries.get_transition(session, row.transition_id)
    await recorder.record(
        session,
        actor,
        patient_id=transition and transition.patient_id,
        transition_id=row.transition_id,
    )
    return row


async def send_command(
    temporal: Client, row: TaskRow, update: str, command: BaseModel
) -> TaskPublic:
    """Run a command as the workflow's Update; a refusal arrives as WorkflowUpdateFailedError."""
    handle = temporal.get_workflow_handle(row.workflow_id)
    task = await idempotency.execute_update(handle, update, command, Task)
    return TaskPublic.from_task(task)
