"""GET /api/v1/transitions: the transitions a caller may see, filtered, newest first, by cursor."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.auth import policy
from api.auth.policy import Scope
from api.pagination import decode_cursor, encode_cursor
from store import transition_search
from store.tables import Transition
from store.transition_search import TaskSummary, TransitionFilter


class TransitionSummary(BaseModel):
    """One row of the list: ids, state and flags; what matters is on the detail page."""

    id: str
    kind: str
    status: str
    patient_id: str
    municipality_number: str
    origin_unit_id: str
    started_at: datetime
    expected_discharge_date: date | None = None
    ready_at: datetime | None = None
    discharged_at: datetime | None = None
    open_tasks: int
    overdue: bool
    escalated: bool


class TransitionPage(BaseModel):
    items: list[TransitionSummary]
    next_cursor: str | None = None


def _summary(t: Transition, s: TaskSummary) -> TransitionSummary:
    return TransitionSummary(
        id=t.id,
        kind=t.kind,
        status=t.status,
        patient_id=t.patient_id,
        municipality_number=t.municipality_number,
        origin_unit_id=t.origin_unit_id,
        started_at=t.started_at,
        expected_discharge_date=t.expected_discharge_date,
        ready_at=t.ready_at,
        discharged_at=t.discharged_at,
        open_tasks=s.open_tasks,
        overdue=s.overdue_tasks > 0,
        escalated=s.max_escalation_level > 0,
    )


async def list_transitions(
    session: AsyncSession, scope: Scope, f: TransitionFilter, *, cursor: str | None, limit: int
) -> TransitionPage:
    now = datetime.now(UTC)
    after = decode_cursor(cursor, datetime, str) if cursor else None
    rows = await transition_search.search(
        session,
        policy.visibility(scope),
        f,
        now=now,
        after=after,
        limit=limit,  # type: ignore[arg-type]
    )
    summaries = await transition_search.task_summaries(session, [t.id for t in rows], now)
    empty = TaskSummary(0, 0, 0, 0, None)
    items = [_summary(t, summaries.get(t.id, empty)) for t in rows]
    await recorder.record_reads(
        session, scope.actor, "transitions.list", [(t.patient_id, t.id) for t in rows]
    )
    last = rows[-1] if len(rows) == limit else None
    return TransitionPage(
        items=items, next_cursor=encode_cursor(last.started_at, last.id) if last else None
    )
