"""Writes to the read model, each safe to repeat: a retried activity changes nothing twice,
and a write that arrives after a newer one (by revision) is ignored."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.tasks import Task
from domain.timeline import TimelineEvent
from domain.transition import Projection, TransitionRecord, TransitionSnapshot
from store import patients
from store.tables import EventRow, TaskRow, Transition


async def register_transition(session: AsyncSession, record: TransitionRecord) -> None:
    values = record.model_dump(mode="python")
    values.update(status="active", updated_at=record.started_at, revision=0)
    # The name is not in the workflow's payload (no patient identifiers go to Temporal).
    parent_id = record.details.get("parent_transition_id")
    values["patient_name"] = patients.name_on_register(record.id, record.patient_id, parent_id)
    await session.execute(insert(Transition).values(**values).on_conflict_do_nothing())


async def apply_snapshot(session: AsyncSession, snapshot: TransitionSnapshot) -> None:
    await session.execute(
        update(Transition)
        .where(Transition.id == snapshot.id, Transition.revision <= snapshot.revision)
        .values(**snapshot.model_dump(exclude={"id"}))
    )


def _task_values(task: Task, workflow_id: str) -> dict[str, object]:
    return {
        "id": task.id,
        "transition_id": task.transition_id,
        "workflow_id": workflow_id,
        "kind": task.kind.value,
        "owner_unit_id": task.owner_unit_id,
        "status": task.status.value,
        "business_status": task.business_status,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "acknowledged_at": task.acknowledged_at,
        "acknowledged_by": task.acknowledged_by,
        "assigned_to": task.assigned_to,
        "completed_at": task.completed_at,
        "escalation_level": task.escalation.level,
        "next_escalation_at": task.escalation.next_at,
        "policy_id": task.policy.id,
        "policy_version": task.policy.version,
        "bounce_count": len(task.bounces),
        "reason": task.reason,
        "note": task.note,
        "revision": task.revision,
    }


async def upsert_task(session: AsyncSession, task: Task, workflow_id: str, at: object) -> None:
    values = {**_task_values(task, workflow_id), "updated_at": at}
    statement = insert(TaskRow).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[TaskRow.id],
            set_={k: statement.excluded[k] for k in values if k != "id"},
            where=TaskRow.revision < statement.excluded.revision,
        )
    )


async def add_events(session: AsyncSession, events: list[TimelineEvent]) -> None:
    if not events:
        return
    rows = [event.model_dump(mode="python") for event in events]
    for row in rows:
        row["kind"] = str(row["kind"])
    await session.execute(insert(EventRow).values(rows).on_conflict_do_nothing())


async def apply_projection(session: AsyncSession, projection: Projection, workflow_id: str) -> None:
    """One batch of a workflow's changes, as its `project` activity writes it (and as a
    rebuild from Temporal's history replays it)."""
    await apply_snapshot(session, projection.transition)
    for task in projection.tasks:
        await upsert_task(session, task, workflow_id, projection.transition.updated_at)
    await add_events(session, projection.events)
