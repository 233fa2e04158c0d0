"""Finding transitions across units: the filtered, paginated list and the stalled report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.tasks import OPEN_STATUSES
from domain.timeline import EventKind
from store.tables import EventRow, Municipality, TaskRow, Transition, Unit

OPEN = [status.value for status in OPEN_STATUSES]


@dataclass(frozen=True)
class Visibility:
    """Which transitions a caller may see: everything, or those touching their units or
    municipalities."""

    everything: bool = False
    unit_ids: frozenset[str] = field(default_factory=frozenset)
    municipalities: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class TransitionFilter:
    status: str | None = None
    kind: str | None = None
    municipality: str | None = None
    unit: str | None = None
    overdue: bool | None = None
    escalated: bool | None = None


def _has_task(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    # Correlate only Transition: the tasks table stays inside, even when the outer query
    # selects tasks too (FHIR search).
    return (
        select(TaskRow.id)
        .where(TaskRow.transition_id == Transition.id, *conditions)
        .correlate(Transition)
        .exists()
    )


def _touches_units(unit_ids: Sequence[str]) -> ColumnElement[bool]:
    return or_(
        Transition.origin_unit_id.in_(unit_ids), _has_task(TaskRow.owner_unit_id.in_(unit_ids))
    )


def visible(visibility: Visibility) -> ColumnElement[bool]:
    if visibility.everything:
        return Transition.id.is_not(None)
    if not (visibility.unit_ids or visibility.municipalities):
        return false()
    return or_(
        _touches_units(sorted(visibility.unit_ids)),
        Transition.municipality_number.in_(sorted(visibility.municipalities)),
    )


def _overdue(now: datetime) -> ColumnElement[bool]:
    return _has_task(TaskRow.status.in_(OPEN), TaskRow.due_at < now)


def _escalated() -> ColumnElement[bool]:
    return _has_task(TaskRow.status.in_(OPEN), TaskRow.escalation_level > 0)


def _conditions(f: TransitionFilter, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.status:
        conditions.append(Transition.status == f.status)
    if f.kind:
        conditions.append(Transition.kind == f.kind)
    if f.municipality:
        conditions.append(Transition.municipality_number == f.municipality)
    if f.unit:
        conditions.append(_touches_units([f.unit]))
    if f.overdue is not None:
        conditions.append(_overdue(now) if f.overdue else ~_overdue(now))
    if f.escalated is not None:
        conditions.append(_escalated() if f.escalated else ~_escalated())
    return conditions


async def search(
    session: AsyncSession,
    visibility: Visibility,
    f: TransitionFilter,
    *,
    now: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Transition]:
    """Newest first; `after` is the (started_at, id) of the last row of the previous page."""
    query = select(Transition).where(visible(visibility), *_conditions(f, now))
    if after is not None:
        query = query.where(tuple_(Transition.started_at, Transition.id) < tuple_(*after))
    query = query.order_by(Transition.started_at.desc(), Transition.id.desc()).limit(limit)
    return list(await session.scalars(query))


@dataclass(frozen=True)
class TaskSummary:
    open_tasks: int
    overdue_tasks: int
    max_escalation_level: int
    bounces: int  # the longest chain of forwards, as the BounceCount search attribute has it
    last_task_change: datetime | None


async def task_summaries(
    session: AsyncSession, transition_ids: Sequence[str], now: datetime
) -> dict[str, TaskSummary]:
    is_open = TaskRow.status.in_(OPEN)
    rows = await session.execute(
        select(
            TaskRow.transition_id,
            func.count().filter(is_open),
            func.count().filter(and_(is_open, TaskRow.due_at < now)),
            func.coalesce(func.max(TaskRow.escalation_level).filter(is_open), 0),
            # A forwarded step carries every earlier owner: the newest step of a chain holds
            # the chain's whole count, so adding the steps up would count each bounce again.
            func.coalesce(func.max(TaskRow.bounce_count), 0),
            func.max(TaskRow.updated_at),
        )
        .where(TaskRow.transition_id.in_(list(transition_ids)))
        .group_by(TaskRow.transition_id)
    )
    return {row[0]: TaskSummary(*row[1:]) for row in rows}


# Overliggedøgn so far: the workflow records a waiting_day event for each day the rule in
# domain.waiting_days counts, so every figure of the read model is the number of those events.
_WAITING_DAY = EventRow.kind == EventKind.WAITING_DAY.value


async def waiting_days(session: AsyncSession, transition_ids: Sequence[str]) -> dict[str, int]:
    """Overliggedøgn so far per transition (absent: none)."""
    rows = await session.execute(
        select(EventRow.transition_id, func.count())
        .where(EventRow.transition_id.in_(list(transition_ids)), _WAITING_DAY)
        .group_by(EventRow.transition_id)
    )
    return {transition_id: days for transition_id, days in rows}


async def waiting_days_by_municipality(
    session: AsyncSession, visibility: Visibility, since: datetime
) -> list[tuple[str, int]]:
    """Overliggedøgn begun since `since` in visible transitions, per municipality, most first."""
    days = func.count()
    rows = await session.execute(
        select(Municipality.name, days)
        .select_from(EventRow)
        .join(Transition, Transition.id == EventRow.transition_id)
        .join(Municipality, Municipality.number == Transition.municipality_number)
        .where(_WAITING_DAY, EventRow.at >= since, visible(visibility))
        .group_by(Municipality.name)
        .order_by(days.desc(), Municipality.name)
    )
    return [(name, count) for name, count in rows]


async def active(
    session: AsyncSession,
    visibility: Visibility,
    *,
    municipality: str | None,
    unit: str | None,
    now: datetime,
) -> list[Transition]:
    """Transitions still running, for the stalled report (which applies its own rules)."""
    f = TransitionFilter(status="active", municipality=municipality, unit=unit)
    query = select(Transition).where(visible(visibility), *_conditions(f, now))
    return list(await session.scalars(query.order_by(Transition.started_at).limit(1000)))


async def events(
    session: AsyncSession,
    visibility: Visibility,
    *,
    kind: str | None,
    municipality: str | None,
    unit: str | None,
    before: tuple[datetime, str, int] | None,
    limit: int,
) -> list[tuple[EventRow, Transition]]:
    """Timeline events across visible transitions, newest first."""
    f = TransitionFilter(municipality=municipality, unit=unit)
    query = (
        select(EventRow, Transition)
        .join(Transition, Transition.id == EventRow.transition_id)
        .where(visible(visibility), *_conditions(f, datetime.min))
    )
    if kind:
        query = query.where(EventRow.kind == kind)
    if before is not None:
        query = query.where(
            tuple_(EventRow.at, EventRow.transition_id, EventRow.seq) < tuple_(*before)
        )
    query = query.order_by(
        EventRow.at.desc(), EventRow.transition_id.desc(), EventRow.seq.desc()
    ).limit(limit)
    return [(event, transition) for event, transition in await session.execute(query)]


async def of_patient(session: AsyncSession, patient_id: str) -> list[tuple[Transition, list[str]]]:
    """The patient's transitions with the units holding their tasks (the care team)."""
    transitions = list(
        await session.scalars(select(Transition).where(Transition.patient_id == patient_id))
    )
    owners = await session.execute(
        select(TaskRow.transition_id, TaskRow.owner_unit_id).where(
            TaskRow.transition_id.in_([t.id for t in transitions])
        )
    )
    units: dict[str, list[str]] = {}
    for transition_id, unit_id in owners:
        units.setdefault(transition_id, []).append(unit_id)
    return [(t, units.get(t.id, [])) for t in transitions]


async def tasks(
    session: AsyncSession,
    visibility: Visibility,
    *,
    owner: str | None,
    statuses: Sequence[str],
    limit: int,
) -> list[tuple[TaskRow, Transition, Unit]]:
    """Tasks of visible transitions, with their transition and owner unit (FHIR search)."""
    query = (
        select(TaskRow, Transition, Unit)
        .join(Transition, Transition.id == TaskRow.transition_id)
        .join(Unit, Unit.id == TaskRow.owner_unit_id)
        .where(visible(visibility))
    )
    if owner:
        query = query.where(TaskRow.owner_unit_id == owner)
    if statuses:
        query = query.where(TaskRow.status.in_(list(statuses)))
    rows = await session.execute(query.order_by(TaskRow.due_at, TaskRow.id).limit(limit))
    return [(task, transition, unit) for task, transition, unit in rows]


async def task(session: AsyncSession, task_id: str) -> tuple[TaskRow, Transition, Unit] | None:
    row = (
        await session.execute(
            select(TaskRow, Transition, Unit)
            .join(Transition, Transition.id == TaskRow.transition_id)
            .join(Unit, Unit.id == TaskRow.owner_unit_id)
            .where(TaskRow.id == task_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])
