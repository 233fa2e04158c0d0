"""Read-model queries: a unit's inbox, one task, one transition with its timeline."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.tasks import OPEN_STATUSES
from store.tables import EventRow, TaskRow, Transition


async def inbox(
    session: AsyncSession, unit_ids: Iterable[str], *, open_only: bool = True, limit: int = 200
) -> list[tuple[TaskRow, Transition]]:
    """The units' tasks with their transitions (which carry the patient's name), soonest due
    first."""
    query = (
        select(TaskRow, Transition)
        .join(Transition, Transition.id == TaskRow.transition_id)
        .where(TaskRow.owner_unit_id.in_(list(unit_ids)))
    )
    if open_only:
        query = query.where(TaskRow.status.in_([s.value for s in OPEN_STATUSES]))
    rows = await session.execute(query.order_by(TaskRow.due_at, TaskRow.id).limit(limit))
    return [(task, transition) for task, transition in rows]


async def get_task(session: AsyncSession, task_id: str) -> TaskRow | None:
    return await session.get(TaskRow, task_id)


async def get_transition(session: AsyncSession, transition_id: str) -> Transition | None:
    return await session.get(Transition, transition_id)


async def tasks_of(session: AsyncSession, transition_id: str) -> list[TaskRow]:
    rows = await session.scalars(
        select(TaskRow).where(TaskRow.transition_id == transition_id).order_by(TaskRow.created_at)
    )
    return list(rows)


async def timeline(session: AsyncSession, transition_id: str) -> list[EventRow]:
    rows = await session.scalars(
        select(EventRow).where(EventRow.transition_id == transition_id).order_by(EventRow.seq)
    )
    return list(rows)


async def open_revisions(session: AsyncSession, unit_ids: Iterable[str]) -> list[tuple[str, int]]:
    """(task id, revision) of the units' open tasks, by id: no patient data."""
    rows = await session.execute(
        select(TaskRow.id, TaskRow.revision)
        .where(
            TaskRow.owner_unit_id.in_(sorted(unit_ids)),
            TaskRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(TaskRow.id)
    )
    return [(task_id, revision) for task_id, revision in rows]
