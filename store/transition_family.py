"""Read-model queries across related transitions: a discharge's child handovers, and the
handovers of one portfolio transfer (both linked through the child's ``details``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import EventRow, TaskRow, Transition


async def children_of(session: AsyncSession, transition_id: str) -> list[Transition]:
    return await _with_detail(session, "parent_transition_id", transition_id)


async def batch_members(session: AsyncSession, batch_id: str) -> list[Transition]:
    return await _with_detail(session, "batch_id", batch_id)


async def _with_detail(session: AsyncSession, key: str, value: str) -> list[Transition]:
    """The transitions whose details carry `key` = `value`, oldest first."""
    rows = await session.scalars(
        select(Transition)
        .where(Transition.details[key].as_string() == value)
        .order_by(Transition.started_at)
    )
    return list(rows)


async def by_ids(session: AsyncSession, transition_ids: Iterable[str]) -> list[Transition]:
    wanted = sorted(set(transition_ids))
    if not wanted:
        return []
    return list(await session.scalars(select(Transition).where(Transition.id.in_(wanted))))


async def tasks_of_many(session: AsyncSession, transition_ids: list[str]) -> list[TaskRow]:
    rows = await session.scalars(
        select(TaskRow)
        .where(TaskRow.transition_id.in_(transition_ids))
        .order_by(TaskRow.created_at)
    )
    return list(rows)


async def events_of_many(session: AsyncSession, transition_ids: list[str]) -> list[EventRow]:
    rows = await session.scalars(
        select(EventRow)
        .where(EventRow.transition_id.in_(transition_ids))
        .order_by(EventRow.at, EventRow.transition_id, EventRow.seq)
    )
    return list(rows)
