"""Finding transitions across units: the filtered, paginated list and the stalled report.

Every query takes `visible`, the caller's access predicate (store.visibility.visible_to):
it narrows the rows, and the caller decides per row what it shows (domain.access.parts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.tasks import OPEN_STATUSES
from domain.timeline import EventKind
from store.tables import EventRow, Patient, TaskRow, Transition, Unit

OPEN = [status.value for status in OPEN_STATUSES]


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
    visible: ColumnElement[bool],
    f: TransitionFilter,
    *,
    now: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Transition]:
    """Newest first; `after` is the (started_at, id) of the last row of the previous page."""
    query = select(Transition).where(visible, *_conditions(f, now))
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


def summary_of(tasks: Sequence[TaskRow], now: datetime) -> TaskSummary:
    """A transition's step figures, over the steps a caller may see."""
    open_tasks = [t for t in tasks if t.status in OPEN]
    return TaskSummary(
        open_tasks=len(open_tasks),
        overdue_tasks=sum(1 for t in open_tasks if t.due_at < now),
        max_escalation_level=max((t.escalation_level for t in open_tasks), default=0),
        # A forwarded step carries every earlier owner: the newest step of a chain holds the
        # chain's whole count, so adding the steps up would count each bounce again.
        bounces=max((t.bounce_count for t in tasks), default=0),
        last_task_change=max((t.updated_at for t in tasks), default=None),
    )


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


async def active(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    municipality: str | None,
    unit: str | None,
    now: datetime,
) -> list[Transition]:
    """Transitions still running, for the stalled report (which applies its own rules)."""
    f = TransitionFilter(status="active", municipality=municipality, unit=unit)
    query = select(Transition).where(visible, *_conditions(f, now))
    return list(await session.scalars(query.order_by(Transition.started_at).limit(1000)))


async def events(
    session: AsyncSession,
    visible: ColumnElement[bool],
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
        .where(visible, *_conditions(f, datetime.min))
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


async def of_patient(session: AsyncSession, patient_id: str) -> list[Transition]:
    """Every transition of the patient (the access model decides which a caller reads)."""
    rows = await session.scalars(select(Transition).where(Transition.patient_id == patient_id))
    return list(rows)


async def tasks(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    owner: str | None,
    statuses: Sequence[str],
    limit: int,
) -> list[tuple[TaskRow, Transition, Unit]]:
    """Visible tasks (`visible` over TaskRow and Transition: store.visibility.step_visible_to),
    with their transition and owner unit (FHIR search)."""
    query = (
        select(TaskRow, Transition, Unit)
        .join(Transition, Transition.id == TaskRow.transition_id)
        .join(Unit, Unit.id == TaskRow.owner_unit_id)
        .where(visible)
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


async def started_from(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    person_id: str,
    unit_ids: Sequence[str],
    limit: int,
) -> list[tuple[Transition, str]]:
    """Visible transitions that left these units or that the person started, newest first,
    with the patient's name (the caller shows it only with the identity part)."""
    query = (
        select(Transition, Patient.name)
        .join(Patient, Patient.id == Transition.patient_id)
        .where(
            visible,
            or_(
                Transition.started_by == person_id,
                Transition.origin_unit_id.in_(sorted(unit_ids)),
            ),
        )
        .order_by(Transition.started_at.desc(), Transition.id.desc())
        .limit(limit)
    )
    return [(transition, name) for transition, name in await session.execute(query)]
