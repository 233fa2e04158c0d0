"""The municipal contact's inbox and commands; commands go to the owning workflow as Updates."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api import idempotency
from api.audit import recorder
from api.auth import access as reading
from api.auth import policy, projection
from api.auth.access import Access, Scope
from api.errors import Problem
from api.tasks.schemas import InboxItem, TaskPublic
from domain.access import Part
from domain.actors import Actor
from domain.tasks import Task
from store import inbox as queries
from store.tables import TaskRow


async def inbox(session: AsyncSession, scope: Scope, *, open_only: bool) -> list[InboxItem]:
    """Steps of the units the caller acts for, each shown as the access model allows: the
    patient's name with the identity part, what matters with the voice part. A step whose
    transition gives the caller no part (e.g. one their unit rejected) is left out."""
    rows = await queries.inbox(session, reading.own_units(scope), open_only=open_only)
    found = await reading.accesses(session, scope, list({t.id: t for _, t in rows}.values()))
    items = [
        _item(task, access)
        for task, transition in rows
        if (access := found.get(transition.id))
        and reading.shows_step(access, task.owner_unit_id, reading.own_units(scope))
    ]
    shown = {item.task.transition_id for item in items}
    await recorder.record_accesses(
        session,
        scope.actor,
        "inbox.read",
        [a for a in found.readable() if a.transition.id in shown],
    )
    return items


def _item(task: TaskRow, access: Access) -> InboxItem:
    transition = access.transition
    return InboxItem(
        task=projection.task_public(task, access),
        patient_name=projection.when(access, Part.IDENTITY, transition.patient_name),
        what_matters=projection.when(access, Part.VOICE, transition.what_matters),
        municipality_number=transition.municipality_number,
        origin_unit_id=transition.origin_unit_id,
    )


async def inbox_version(session: AsyncSession, scope: Scope) -> str:
    """Changes whenever an open step of the caller's units appears, changes or closes; no
    patient data, so the inbox page can poll it cheaply and fetch (and log) rows on change."""
    rows = await queries.open_revisions(session, reading.own_units(scope))
    text = ";".join(f"{task_id}:{revision}" for task_id, revision in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def task_for_command(session: AsyncSession, actor: Actor, task_id: str) -> TaskRow:
    row = await queries.get_task(session, task_id)
    if row is None:
        raise Problem(404, "Not found", f"no task {task_id}")
    policy.may_act_on_task(actor, row.owner_unit_id)
    transition = await queries.get_transition(session, row.transition_id)
    if transition is None:
        raise Problem(404, "Not found", f"no transition for task {task_id}")
    access = await reading.require_step(session, actor, transition, row.owner_unit_id)
    await recorder.record(
        session,
        actor,
        patient_id=transition.patient_id,
        transition_id=row.transition_id,
        purpose=access.purpose,
    )
    return row


async def send_command(temporal: Client, row: TaskRow, command: BaseModel) -> TaskPublic:
    """Run a command as the workflow's Update; a refusal arrives as WorkflowUpdateFailedError."""
    handle = temporal.get_workflow_handle(row.workflow_id)
    task = await idempotency.execute_update(handle, command, Task)
    return TaskPublic.from_task(task)
