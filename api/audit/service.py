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
from api.auth import policy
from api.auth.policy import Scope
from api.pagination import decode_cursor, encode_cursor
from domain.calendar import BusinessCalendar
from store import audit, transition_search
from store.tables import Transition
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
    purpose = policy.may_read_oversight(scope)
    now = datetime.now(UTC)
    visibility = policy.visibility(scope, administrators_see_all=True)
    rows = await transition_search.active(
        session, visibility, municipality=municipality, unit=unit, now=now
    )
    ids = [t.id for t in rows]
    summaries = await transition_search.task_summaries(session, ids, now)
    days = await transition_search.waiting_days(session, ids)
    idle_cutoff = BusinessCalendar().add_business_days(now.date(), -idle_business_days)
    empty = TaskSummary(0, 0, 0, 0, None)
    found = [_stalled(t, summaries.get(t.id, empty), days.get(t.id, 0), idle_cutoff) for t in rows]
    report = [item for item in found if item is not None]
    await recorder.record_reads(
        session,
        scope.actor,
        "audit.stalled.read",
        [(i.patient_id, i.transition_id) for i in report],
        purpose=purpose,
    )
    return report


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
    purpose = policy.may_read_oversight(scope)
    before = decode_cursor(cursor, datetime, str, int) if cursor else None
    rows = await transition_search.events(
        session,
        policy.visibility(scope, administrators_see_all=True),
        kind=kind,
        municipality=municipality,
        unit=unit,
        before=before,  # type: ignore[arg-type]
        limit=limit,
    )
    items = [
        FeedEvent(
            transition_id=e.transition_id,
            seq=e.seq,
            at=e.at,
            kind=e.kind,
            task_id=e.task_id,
            actor_id=e.actor_id,
            municipality_number=t.municipality_number,
            origin_unit_id=t.origin_unit_id,
            detail=e.detail,
        )
        for e, t in rows
    ]
    reads = [(t.patient_id, t.id) for _, t in rows]
    await recorder.record_reads(session, scope.actor, "audit.events.read", reads, purpose=purpose)
    last = rows[-1][0] if len(rows) == limit else None
    next_cursor = encode_cursor(last.at, last.transition_id, last.seq) if last else None
    return EventPage(items=items, next_cursor=next_cursor)


async def access_log(session: AsyncSession, scope: Scope, patient_id: str) -> list[AccessLogEntry]:
    # No 404 for an unknown patient: that would tell anyone which patient ids exist.
    transitions = await transition_search.of_patient(session, patient_id)
    care_team = {u for t, owners in transitions for u in (t.origin_unit_id, *owners)}
    municipalities = {t.municipality_number for t, _ in transitions}
    purpose = policy.may_read_access_log(scope, care_team, municipalities)
    rows = await audit.patient_reads(session, patient_id)
    await recorder.record(
        session, scope.actor, "access_log.read", patient_id=patient_id, purpose=purpose
    )
    return [AccessLogEntry.from_row(row) for row in rows]
