"""`overgang rebuild-read-model`: the inbox, timeline and dashboards (the transitions, tasks
and events tables) rebuilt from Temporal, which shows that Temporal is the source of truth.

Every workflow execution (every run, continue-as-new included) is read from its history;
the inputs of the read-model activities it scheduled (``register_transition``, ``project``)
are decoded with the application's data converter and codec and applied, in order and with
the activities' own idempotent writes, to rows emptied first. All of it is one transaction,
with the tables locked against writes (reads go on): the read model is either the old one
or the rebuilt one, and an activity that writes meanwhile waits and then changes nothing.

Only what Temporal still holds can be rebuilt: a transition whose first run has passed the
namespace's retention (closed long ago) keeps its rows as they are and is reported.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecution

from domain.transition import Projection, TransitionRecord
from foundation.settings import Settings
from store import read_model
from store.database import Database
from store.tables import EventRow, TaskRow, Transition

# The activities that write the read model, by the name Temporal schedules them under.
READ_MODEL_WRITES: dict[str, type[BaseModel]] = {
    "register_transition": TransitionRecord,
    "project": Projection,
}
# Notifications refer to transitions; this constraint waits for the commit (migration 0007).
NOTIFICATION_TRANSITION_FK = "fk_notifications_transition_id_transitions"


@dataclass
class WorkflowChain:
    """One workflow id: its runs' read-model writes in order, and whether the first run
    (the one that registered the transition) is still in Temporal."""

    workflow_id: str
    writes: list[TransitionRecord | Projection] = field(default_factory=list)
    complete: bool = False

    @property
    def transition_ids(self) -> set[str]:
        return {w.id for w in self.writes if isinstance(w, TransitionRecord)}


@dataclass(frozen=True)
class RebuildReport:
    workflows: int
    transitions: int
    tasks: int
    events: int
    incomplete: list[str]  # workflow ids whose first run is gone: their rows were kept


async def rebuild_read_model(client: Client, db: Database) -> RebuildReport:
    """Empty and refill the read model of every transition Temporal holds in full."""
    async with db.transaction() as session:
        await session.execute(text("LOCK TABLE transitions, tasks, events IN EXCLUSIVE MODE"))
        chains = await read_chains(client)
        whole = [c for c in chains if c.complete and c.transition_ids]
        transition_ids = set().union(*(c.transition_ids for c in whole))
        await _empty(session, transition_ids)
        for chain in whole:
            await _apply(session, chain)
        counts = await _counts(session, transition_ids)
    incomplete = [c.workflow_id for c in chains if not c.complete and c.writes]
    return RebuildReport(len(whole), *counts, incomplete=incomplete)


async def read_chains(client: Client) -> list[WorkflowChain]:
    """Every workflow's runs, oldest first, with the read-model writes they scheduled; the
    workflows in the order they started (a handover's row takes its parent's patient name)."""
    runs: dict[str, list[WorkflowExecution]] = defaultdict(list)
    async for execution in client.list_workflows():
        runs[execution.id].append(execution)
    ordered = sorted(runs.items(), key=lambda item: min(e.start_time for e in item[1]))
    return [await _chain(client, workflow_id, runs_of) for workflow_id, runs_of in ordered]


async def _chain(
    client: Client, workflow_id: str, executions: Sequence[WorkflowExecution]
) -> WorkflowChain:
    chain = WorkflowChain(workflow_id)
    for number, run in enumerate(sorted(executions, key=lambda e: e.start_time)):
        handle = client.get_workflow_handle(workflow_id, run_id=run.run_id)
        async for event in handle.fetch_history_events():
            if number == 0 and event.HasField("workflow_execution_started_event_attributes"):
                started = event.workflow_execution_started_event_attributes
                chain.complete = not started.continued_execution_run_id
            write = await _read_model_write(client, event)
            if write is not None:
                chain.writes.append(write)
    return chain


async def _read_model_write(
    client: Client, event: HistoryEvent
) -> TransitionRecord | Projection | None:
    if not event.HasField("activity_task_scheduled_event_attributes"):
        return None
    scheduled = event.activity_task_scheduled_event_attributes
    model = READ_MODEL_WRITES.get(scheduled.activity_type.name)
    if model is None:
        return None
    [value] = await client.data_converter.decode(scheduled.input.payloads, [model])
    return value  # type: ignore[no-any-return]


async def _empty(session: AsyncSession, transition_ids: set[str]) -> None:
    await session.execute(text(f"SET CONSTRAINTS {NOTIFICATION_TRANSITION_FK} DEFERRED"))
    await session.execute(delete(EventRow).where(EventRow.transition_id.in_(transition_ids)))
    await session.execute(delete(TaskRow).where(TaskRow.transition_id.in_(transition_ids)))
    await session.execute(delete(Transition).where(Transition.id.in_(transition_ids)))


async def _apply(session: AsyncSession, chain: WorkflowChain) -> None:
    for write in chain.writes:
        if isinstance(write, TransitionRecord):
            await read_model.register_transition(session, write)
        else:
            await read_model.apply_projection(session, write, chain.workflow_id)


async def _counts(session: AsyncSession, transition_ids: set[str]) -> tuple[int, int, int]:
    counts = []
    for table, column in (
        (Transition, Transition.id),
        (TaskRow, TaskRow.transition_id),
        (EventRow, EventRow.transition_id),
    ):
        query = select(func.count()).select_from(table).where(column.in_(transition_ids))
        counts.append(int(await session.scalar(query) or 0))
    return counts[0], counts[1], counts[2]


def summary(report: RebuildReport) -> str:
    lines = [
        f"read model rebuilt from {report.workflows} workflows: {report.transitions} "
        f"transitions, {report.tasks} tasks, {report.events} timeline events"
    ]
    if report.incomplete:
        lines.append(
            f"kept as they were: {len(report.incomplete)} workflows whose first run is past "
            f"Temporal's retention ({', '.join(report.incomplete[:5])}"
            f"{', ...' if len(report.incomplete) > 5 else ''})"
        )
    return "\n".join(lines)


def rebuild_command(settings: Settings) -> int:
    from foundation.temporal_client import connect
    from overgang.stack import existing_services

    async def run() -> RebuildReport:
        database_url, address = await existing_services(settings)
        db = Database(database_url, pool_size=1)
        try:
            return await rebuild_read_model(await connect(settings, address), db)
        finally:
            await db.dispose()

    print(summary(asyncio.run(run())))
    return 0
