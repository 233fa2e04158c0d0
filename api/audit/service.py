"""Oversight for leaders: stalled transitions, the event feed, and patients' access logs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.audit.schemas import (
    AccessLogEntry,
    EventPage,
    FeedEvent,
    StalledTransition,
    StallReason,
)
from api.auth import access as reading
from api.auth import projection
from api.auth.access import Access, Scope
from api.auth.policy import ADMINISTRATION, Forbidden
from api.errors import Problem
from api.pagination import decode_cursor, encode_cursor
from api.transitions.listing import visible_step_summaries
from domain.access import purpose as purpose_of
from domain.access import reads_access_log
from domain.calendar import BusinessCalendar
from store import audit, transition_search
from store.tables import EventRow, Transition
from store.transition_search import TaskSummary


def _reasons(
    t: Transition, s: TaskSummary, last_progress: datetime, idle_cutoff: date
) -> list[StallReason]:
    flags = {
        StallReason.OVERDUE: s.overdue_tasks > 0,
        StallReason.ESCALATED: s.max_escalation_level > 0,
        StallReason.BOUNCED: s.bounces > 0,
        StallReason.WAITING_AFTER_READY: t.ready_at is not None and t.discharged_at is None,
        StallReason.NO_PROGRESS: last_progress.date() < idle_cutoff,
    }
    return [reason for reason, flagged in flags.items() if flagged]


def _stalled(
    t: Transition, s: TaskSummary, waiting_days: int, idle_cutoff: date
) -> StalledTransition | None:
    last_progress = max(filter(None, [t.updated_at, s.last_task_change]))
    reasons = _reasons(t, s, last_progress, idle_cutoff)
    if not reasons:
        return None
    waiting = t.ready_at is not None and t.discharged_at is None
    return StalledTransition(
        transition_id=t.id,
        patient_id=t.patient_id,
        kind=t.kind,
        municipality_number=t.municipality_number,
        origin_unit_id=t.origin_unit_id,
        started_at=t.started_at,
        expected_discharge_date=t.expected_discharge_date,
        reasons=reasons,
        open_tasks=s.open_tasks,
        overdue_tasks=s.overdue_tasks,
        max_escalation_level=s.max_escalation_level,
        bounces=s.bounces,
        days_since_ready=waiting_days if waiting else None,
        last_progress_at=last_progress,
    )


async def stalled(
    session: AsyncSession,
    scope: Scope,
    *,
    municipality: str | None,
    unit: str | None,
    idle_business_days: int,
) -> list[StalledTransition]:
    """Stalled transitions among those the caller has a relation to; each row's figures come
    from the steps the caller may see."""
    now = datetime.now(UTC)
    rows = await transition_search.active(
        session, scope.visible(), municipality=municipality, unit=unit, now=now
    )
    found = (await reading.accesses(session, scope, rows)).readable()
    summaries = await visible_step_summaries(session, scope, found, now)
    days = await transition_search.waiting_days(session, [a.transition.id for a in found])
    idle_cutoff = BusinessCalendar().add_business_days(now.date(), -idle_business_days)
    report = [
        (access, item)
        for access in found
        if (
            item := _stalled(
                access.transition,
                summaries[access.transition.id],
                days.get(access.transition.id, 0),
                idle_cutoff,
            )
        )
    ]
    await recorder.record_accesses(
        session, scope.actor, "audit.stalled.read", [a for a, _ in report]
    )
    return [item for _, item in report]


async def event_feed(
    session: AsyncSession,
    scope: Scope,
    *,
    kind: str | None,
    municipality: str | None,
    unit: str | None,
    cursor: str | None,
    limit: int,
) -> EventPage:
    """Timeline events of the transitions the caller has a relation to: the events of the
    steps they see, with free text only for the clinical part (oversight sees the process)."""
    before = decode_cursor(cursor, datetime, str, int) if cursor else None
    rows = await transition_search.events(
        session,
        scope.visible(),
        kind=kind,
        municipality=municipality,
        unit=unit,
        before=before,  # type: ignore[arg-type]
        limit=limit,
    )
    transitions = list({t.id: t for _, t in rows}.values())
    found = await reading.accesses(session, scope, transitions)
    steps = await reading.visible_step_ids(session, scope, found.readable())
    items = [
        _feed_event(e, access)
        for e, t in rows
        if (access := found.get(t.id))
        and access.parts
        and projection.visible_events(access, [e], steps)
    ]
    shown = {i.transition_id for i in items}
    await recorder.record_accesses(
        session,
        scope.actor,
        "audit.events.read",
        [a for a in found.readable() if a.transition.id in shown],
    )
    last = rows[-1][0] if len(rows) == limit else None
    next_cursor = encode_cursor(last.at, last.transition_id, last.seq) if last else None
    return EventPage(items=items, next_cursor=next_cursor)


def _feed_event(e: EventRow, access: Access) -> FeedEvent:
    t = access.transition
    return FeedEvent(
        transition_id=e.transition_id,
        seq=e.seq,
        at=e.at,
        kind=e.kind,
        task_id=e.task_id,
        actor_id=e.actor_id,
        municipality_number=t.municipality_number,
        origin_unit_id=t.origin_unit_id,
        detail=projection.event_detail(e.detail or {}, access),
    )


async def access_log(session: AsyncSession, scope: Scope, patient_id: str) -> list[AccessLogEntry]:
    """Who read, acted on or was refused this patient's data, when and why. Readers with care,
    oversight or emergency access to one of the patient's transitions see the entries of the
    transitions they have a relation to; administrators, who keep the audit log, see all."""
    # No 404 for an unknown patient: that would tell anyone which patient ids exist.
    rows = await transition_search.of_patient(session, patient_id)
    found = (await reading.accesses(session, scope, rows)).readable()
    related = [a for a in found if reads_access_log(a.relations)]
    if not (related or scope.is_administrator):
        raise Forbidden(ACCESS_LOG_REFUSED, patients=[(patient_id, None)])
    relations = [r for a in related for r in a.relations]
    purpose = purpose_of(relations) if related else ADMINISTRATION
    entries = await audit.patient_reads(session, patient_id)
    await recorder.record(
        session, scope.actor, "access_log.read", patient_id=patient_id, purpose=purpose
    )
    mine = {a.transition.id for a in related}
    return [
        AccessLogEntry.from_row(e)
        for e in entries
        if scope.is_administrator or e.transition_id is None or e.transition_id in mine
    ]


async def transition_access_log(
    session: AsyncSession, scope: Scope, transition_id: str
) -> list[AccessLogEntry]:
    """The access log of the transition's patient: the way in for those who know the
    transition, since the patient's internal id is not shown to anyone."""
    row = await session.get(Transition, transition_id)
    if row is None:
        raise Problem(404, "Not found", f"no transition {transition_id}")
    return await access_log(session, scope, row.patient_id)


ACCESS_LOG_REFUSED = (
    "a patient's access log is for those who care for the patient, leaders over their "
    "transitions, emergency readers and administrators"
)
