"""The figures behind the leaders' charts, over the transitions and steps a caller sees (the
predicates come from store.visibility: the access model as SQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.tasks import OPEN_STATUSES
from store.tables import EventRow, Municipality, TaskRow, Transition, Unit

OPEN = [s.value for s in OPEN_STATUSES]


async def acknowledge_seconds_by_unit(
    session: AsyncSession, visible_steps: ColumnElement[bool], since: datetime, limit: int
) -> list[tuple[str, float]]:
    """Mean seconds from a step's creation to its acknowledgement, per owner unit, slowest first."""
    seconds = func.avg(func.extract("epoch", TaskRow.acknowledged_at - TaskRow.created_at))
    rows = await session.execute(
        select(Unit.name, seconds)
        .join(Unit, Unit.id == TaskRow.owner_unit_id)
        .join(Transition, Transition.id == TaskRow.transition_id)
        .where(TaskRow.acknowledged_at.is_not(None), TaskRow.created_at >= since)
        .where(visible_steps)
        .group_by(Unit.name)
        .order_by(seconds.desc())
        .limit(limit)
    )
    return [(name, float(s)) for name, s in rows]


async def late_step_deadlines(
    session: AsyncSession, visible_steps: ColumnElement[bool], since: datetime, now: datetime
) -> list[datetime]:
    """Deadlines in [since, now) of steps completed late or still open past them."""
    late = and_(TaskRow.completed_at.is_not(None), TaskRow.completed_at > TaskRow.due_at)
    still_open = and_(TaskRow.status.in_(OPEN), TaskRow.due_at < now)
    rows = await session.scalars(
        select(TaskRow.due_at)
        .join(Transition, Transition.id == TaskRow.transition_id)
        .where(TaskRow.due_at >= since, TaskRow.due_at < now, late | still_open)
        .where(visible_steps)
    )
    return list(rows)


async def ready_periods(
    session: AsyncSession, visible: ColumnElement[bool], since: datetime
) -> list[tuple[str, datetime, datetime | None]]:
    """(municipality name, ready at, discharged at) of transitions declared ready since."""
    rows = await session.execute(
        select(Municipality.name, Transition.ready_at, Transition.discharged_at)
        .join(Municipality, Municipality.number == Transition.municipality_number)
        .where(Transition.ready_at.is_not(None), Transition.ready_at >= since)
        .where(visible)
    )
    return [(name, ready, discharged) for name, ready, discharged in rows if ready is not None]


async def follow_up_counts(
    session: AsyncSession, visible: ColumnElement[bool], since: datetime, within: timedelta
) -> list[tuple[str, int, int]]:
    """(municipality name, discharged since, of them followed up within `within`)."""
    followed = (
        select(EventRow.transition_id)
        .where(
            EventRow.kind == "follow_up_recorded",
            EventRow.transition_id == Transition.id,
            EventRow.at <= Transition.discharged_at + within,
        )
        .exists()
    )
    rows = await session.execute(
        select(Municipality.name, func.count(), func.count().filter(followed))
        .select_from(Transition)
        .join(Municipality, Municipality.number == Transition.municipality_number)
        .where(Transition.discharged_at.is_not(None), Transition.discharged_at >= since, visible)
        .group_by(Municipality.name)
        .order_by(Municipality.name)
    )
    return [(name, int(total), int(hit)) for name, total, hit in rows]
