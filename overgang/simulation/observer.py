"""What the driver learns from the read model between its moves, in two batched queries:
steps created since the last look, and the events it reacts to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from store.database import Database

# Rows are written by activities just after their workflow time: look back a little.
LOOK_BACK = timedelta(minutes=2)
WATCHED_EVENTS = (
    "municipality_ready",
    "transition_completed",
    "transition_cancelled",
    "escalated",
    "lar_answered",
)

_NEW_TASKS = text(
    """
    SELECT t.id, t.transition_id, t.workflow_id, t.kind, t.owner_unit_id, t.created_at,
           t.bounce_count, COALESCE(tr.details->>'parent_transition_id', t.transition_id)
    FROM tasks t JOIN transitions tr ON tr.id = t.transition_id
    WHERE t.created_at > :since
    """
)
_NEW_EVENTS = text(
    """
    SELECT transition_id, seq, kind, at, task_id, detail->>'level'
    FROM events WHERE at > :since AND kind = ANY(:kinds)
    """
)


@dataclass(frozen=True)
class SeenTask:
    id: str
    transition_id: str
    workflow_id: str
    kind: str
    owner_unit_id: str
    created_at: datetime
    bounce_count: int
    root_id: str  # the case's transition (the parent discharge for a handover)


@dataclass(frozen=True)
class SeenEvent:
    transition_id: str
    seq: int
    kind: str
    at: datetime
    task_id: str | None
    level: int | None


class Observer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._tasks: set[str] = set()
        self._events: set[tuple[str, int]] = set()
        self._since: datetime | None = None

    async def look(self, now: datetime) -> tuple[list[SeenTask], list[SeenEvent]]:
        """What is new since the last look (each row reported once)."""
        since = (self._since or now - timedelta(days=1)) - LOOK_BACK
        self._since = now
        async with self.db.transaction() as session:
            task_rows = (await session.execute(_NEW_TASKS, {"since": since})).all()
            event_rows = (
                await session.execute(_NEW_EVENTS, {"since": since, "kinds": list(WATCHED_EVENTS)})
            ).all()
        tasks = [SeenTask(*row) for row in task_rows if row[0] not in self._tasks]
        self._tasks.update(t.id for t in tasks)
        events = [
            SeenEvent(r[0], r[1], r[2], r[3], r[4], int(r[5]) if r[5] else None)
            for r in event_rows
            if (r[0], r[1]) not in self._events
        ]
        self._events.update((e.transition_id, e.seq) for e in events)
        return tasks, sorted(events, key=lambda e: e.at)
