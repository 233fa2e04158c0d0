"""The figures behind the leaders' charts, over the transitions and steps a caller sees (the
predicates come from store.visibility: the access model as SQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.tasks import OPEN_STATUSES
from domain.timeline import EventKind
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


async def waiting_days_by_municipality(
    session: AsyncSession, visible: ColumnElement[bool], since: datetime
) -> list[tuple[str, int]]:
    """Overliggedøgn begun since `since`, per municipality, most first: the workflow records a
    waiting_day event for each day domain.waiting_days counts, so the figure is their number."""
    days = func.count()
    rows = await session.execute(
        select(Municipality.name, days)
        .select_from(EventRow)
        .join(Transition, Transition.id == EventRow.transition_id)
        .join(Municipality, Municipality.number == Transition.municipality_number)
        .where(EventRow.kind == EventKind.WAITING_DAY.value, EventRow.at >= since, visible)
        .group_by(Municipality.name)
        .order_by(days.desc(), Municipality.name)
    )
    return [(name, int(count)) for name, count in rows]


def _recorded(kind: EventKind) -> ColumnElement[bool]:
    return (
        select(EventRow.seq)
        .where(EventRow.transition_id == Transition.id, EventRow.kind == kind.value)
        .correlate(Transition)
        .exists()
    )


async def follow_up_counts(
    session: AsyncSession, visible: ColumnElement[bool], since: datetime
) -> list[tuple[str, int, int]]:
    """(municipality name, discharges since whose window is decided, of them followed up in
    time). Each transition is judged against its own window (DischargeTiming.follow_up_within,
    frozen when it started): the workflow records follow_up_missed when the window ends
    without a first contact; discharges whose window is still open, or that need no
    follow-up, wait."""
    missed = _recorded(EventKind.FOLLOW_UP_MISSED)
    in_time = and_(_recorded(EventKind.FOLLOW_UP_RECORDED), ~missed)
    rows = await session.execute(
        select(Municipality.name, func.count(), func.count().filter(in_time))
        .select_from(Transition)
        .join(Municipality, Municipality.number == Transition.municipality_number)
        .where(
            Transition.discharged_at.is_not(None),
            Transition.discharged_at >= since,
            or_(in_time, missed),
            visible,
        )
        .group_by(Municipality.name)
        .order_by(Municipality.name)
    )
    return [(name, int(total), int(hit)) for name, total, hit in rows]
