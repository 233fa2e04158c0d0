"""Keeping the read model (PostgreSQL) and the search attributes in step with a workflow.

Writes are serialised, so revisions arrive in order, and each write carries everything that
changed since the previous one. A command's handler waits for its write (the person's answer
then matches the inbox); a timer's write goes in the background, so a blocked database never
holds the escalation clock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from domain.transition import Projection, TransitionCore, TransitionRecord, TransitionSnapshot
    from workflows import activity_stubs as stubs
    from workflows import search_attributes as sa
    from workflows.supervision import Supervisor

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# After an outage the chain must resume within seconds, not after a backoff of half a
# minute (issue 12, obs. 7): activities on our own database retry at most every 2 s.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=2),
    non_retryable_error_types=["UnknownPolicy"],
)


class Projector:
    def __init__(self, core: TransitionCore, supervisor: Supervisor) -> None:
        self.core = core
        self.supervisor = supervisor
        self._lock = asyncio.Lock()

    async def register(self, record: TransitionRecord) -> None:
        """Make the transition findable (search attributes) and put it in the read model."""
        workflow.upsert_search_attributes(
            [
                sa.TRANSITION_KIND.value_set(record.kind.value),
                sa.MUNICIPALITY_NUMBER.value_set(record.municipality_number),
                sa.ORIGIN_UNIT.value_set(record.origin_unit_id),
            ]
        )
        await workflow.execute_activity(
            stubs.register_transition,
            record,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def flush(self) -> None:
        """Write what changed to the read model, and update the search attributes."""
        async with self._lock:
            if not self.core.pending_events and not self.core.dirty_task_ids:
                return
            projection = self._take_projection()
            self._upsert_search_attributes()
            await workflow.execute_activity(
                stubs.project,
                projection,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )

    def flush_in_background(self) -> None:
        self.supervisor.run("read-model write", self.flush())

    @property
    def idle(self) -> bool:
        return not self._lock.locked()

    def _take_projection(self) -> Projection:
        core = self.core
        projection = Projection(
            transition=TransitionSnapshot(
                id=core.transition_id,
                status=core.status,
                revision=core.revision,
                updated_at=workflow.now(),
                expected_discharge_date=core.expected_discharge_date,
                ready_at=core.ready_at,
                discharged_at=core.discharged_at,
            ),
            tasks=[core.tasks[i] for i in sorted(core.dirty_task_ids)],
            events=list(core.pending_events),
        )
        core.pending_events.clear()
        core.dirty_task_ids.clear()
        return projection

    def _upsert_search_attributes(self) -> None:
        now = workflow.now()
        open_tasks = self.core.open_tasks()
        deadlines = [t.due_at for t in open_tasks]
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.TRANSITION_STATUS.value_set(self.core.status.value),
            sa.ESCALATION_LEVEL.value_set(self.core.max_escalation_level()),
            sa.OVERDUE.value_set(any(t.is_overdue(now) for t in open_tasks)),
            sa.OWNER_UNITS.value_set(sorted({t.owner_unit_id for t in open_tasks})),
            sa.BOUNCE_COUNT.value_set(
                max((len(t.bounces) for t in self.core.tasks.values()), default=0)
            ),
        ]
        updates.append(
            sa.NEXT_DEADLINE.value_set(min(deadlines))
            if deadlines
            else sa.NEXT_DEADLINE.value_unset()
        )
        workflow.upsert_search_attributes(updates)
