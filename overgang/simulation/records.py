"""Reading what the invariants compare, in batches: the read model (transitions, tasks,
events, notifications) from PostgreSQL, and each workflow's own state from Temporal."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError

from domain.calendar import OfficeHours
from domain.escalation import EscalationLevel, EscalationPolicy
from domain.transition import TransitionKind
from store.database import Database
from store.tables import EscalationPolicyRow, EventRow, NotificationRow, Person, TaskRow, Transition
from workflows.discharge import DischargeWorkflow
from workflows.handover import HandoverWorkflow
from workflows.lar_change import LarPlanChangeWorkflow
from workflows.transition import TransitionView

CONCURRENT_QUERIES = 32
# A difference between the read model and the workflow is looked at again once the workflow's
# activities are done: this many looks this far apart (wall seconds) at most.
SETTLE_LOOKS, SETTLE_PAUSE = 50, 0.2


@dataclass(frozen=True)
class Event:
    seq: int
    at: datetime
    kind: str
    task_id: str | None
    detail: dict[str, Any]


@dataclass
class Record:
    """One transition as the read model holds it, and as its workflow reports it."""

    row: Transition
    tasks: dict[str, TaskRow] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    notifications: list[NotificationRow] = field(default_factory=list)
    view: TransitionView | None = None
    waiting_days: int | None = None
    query_error: str | None = None

    def of_kind(self, kind: str, task_id: str | None = None) -> list[Event]:
        return [
            e for e in self.events if e.kind == kind and (task_id is None or e.task_id == task_id)
        ]


async def read_records(db: Database, ids: list[str]) -> dict[str, Record]:
    """The read model of these transitions, in four queries."""
    async with db.transaction() as session:
        rows = await session.scalars(select(Transition).where(Transition.id.in_(ids)))
        records = {row.id: Record(row) for row in rows}
        for task in await session.scalars(select(TaskRow).where(TaskRow.transition_id.in_(ids))):
            records[task.transition_id].tasks[task.id] = task
        events = await session.scalars(
            select(EventRow).where(EventRow.transition_id.in_(ids)).order_by(EventRow.seq)
        )
        for e in events:
            records[e.transition_id].events.append(Event(e.seq, e.at, e.kind, e.task_id, e.detail))
        notes = await session.scalars(
            select(NotificationRow).where(NotificationRow.transition_id.in_(ids))
        )
        for note in notes:
            records[note.transition_id].notifications.append(note)
    return records


# Each workflow's own `view` query, as a typed reference.
VIEW: dict[TransitionKind, Callable[[Any], TransitionView]] = {
    TransitionKind.DISCHARGE: DischargeWorkflow.view,
    TransitionKind.HANDOVER: HandoverWorkflow.view,
    TransitionKind.LAR_CHANGE: LarPlanChangeWorkflow.view,
}


async def read_views(client: Client, records: dict[str, Record]) -> None:
    """Ask each workflow for its own state (the `view` query), a few at a time."""
    limit = asyncio.Semaphore(CONCURRENT_QUERIES)

    async def one(record: Record) -> None:
        handle = client.get_workflow_handle(record.row.workflow_id)
        async with limit:
            try:
                record.view = await handle.query(VIEW[TransitionKind(record.row.kind)])
                if record.row.kind == TransitionKind.DISCHARGE:
                    record.waiting_days = await handle.query(DischargeWorkflow.waiting_day_count)
            except RPCError as error:
                record.query_error = error.message[:200]

    await asyncio.gather(*(one(r) for r in records.values()))


async def wait_for_activities(client: Client, workflow_ids: list[str]) -> None:
    """Until none of these workflows has an activity pending (its projection written), or
    SETTLE_LOOKS looks have passed: a check then reports what it sees."""
    for _ in range(SETTLE_LOOKS):
        described = await asyncio.gather(
            *(client.get_workflow_handle(w).describe() for w in workflow_ids),
            return_exceptions=True,
        )
        if not any(_busy(d) for d in described):
            return
        await asyncio.sleep(SETTLE_PAUSE)  # wall time: the activities run at their own pace


def _busy(described: WorkflowExecutionDescription | BaseException) -> bool:
    if isinstance(described, BaseException):
        return False  # closed, or gone: nothing more will be written
    return bool(described.raw_description.pending_activities)


@dataclass(frozen=True)
class Directory:
    """What the directory says, read once: policies by municipality, people's e-mail."""

    policies: dict[str, EscalationPolicy]
    emails: dict[str, str]

    def policy_for(self, municipality_number: str) -> EscalationPolicy | None:
        return self.policies.get(municipality_number)


async def read_directory(db: Database) -> Directory:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(EscalationPolicyRow).order_by(EscalationPolicyRow.version)
        )
        policies: dict[str, EscalationPolicy] = {}
        for row in rows:
            if row.municipality_number and row.unit_id is None and row.task_kind is None:
                policies[row.municipality_number] = EscalationPolicy(
                    id=row.id,
                    version=row.version,
                    name=row.name,
                    levels=tuple(EscalationLevel.model_validate(x) for x in row.levels),
                    # The demo units keep the default office hours; the holidays come from
                    # domain.calendar itself, not from the step's frozen snapshot.
                    hours=OfficeHours(),
                )
        people = await session.execute(select(Person.id, Person.email))
        emails = {pid: email for pid, email in people if email}
    return Directory(policies, emails)


def by_task(notes: list[NotificationRow]) -> dict[str, list[NotificationRow]]:
    grouped: dict[str, list[NotificationRow]] = defaultdict(list)
    for note in notes:
        grouped[note.task_id or ""].append(note)
    return grouped
