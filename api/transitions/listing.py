"""GET /api/v1/transitions: the transitions a caller may see, filtered, newest first, by cursor."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.auth import access as reading
from api.auth import projection
from api.auth.access import Access, Scope
from api.pagination import decode_cursor, encode_cursor
from store import transition_family, transition_search
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


async def visible_step_summaries(
    session: AsyncSession, scope: Scope, found: list[Access], now: datetime
) -> dict[str, TaskSummary]:
    """Each row's step figures over the steps the caller may see (their own, under consent)."""
    tasks = await transition_family.tasks_of_many(session, [a.transition.id for a in found])
    own = reading.own_units(scope)
    return {
        a.transition.id: transition_search.summary_of(
            projection.visible_steps(
                a, [t for t in tasks if t.transition_id == a.transition.id], own
            ),
            now,
        )
        for a in found
    }


async def list_transitions(
    session: AsyncSession, scope: Scope, f: TransitionFilter, *, cursor: str | None, limit: int
) -> TransitionPage:
    now = datetime.now(UTC)
    after = decode_cursor(cursor, datetime, str) if cursor else None
    rows = await transition_search.search(
        session,
        scope.visible(),
        f,
        now=now,
        after=after,  # type: ignore[arg-type]
        limit=limit,
    )
    found = (await reading.accesses(session, scope, rows)).readable()
    summaries = await visible_step_summaries(session, scope, found, now)
    items = [_summary(a.transition, summaries[a.transition.id]) for a in found]
    await recorder.record_accesses(session, scope.actor, "transitions.list", found)
    last = rows[-1] if len(rows) == limit else None
    return TransitionPage(
        items=items, next_cursor=encode_cursor(last.started_at, last.id) if last else None
    )
