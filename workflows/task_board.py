"""The task machinery every transition workflow shares: open a step, escalate it while it is
unacknowledged, apply people's commands, and keep the read model and search attributes in step.

Deterministic: time comes from ``workflow.now()``, ids from ``workflow.uuid4()``, and every
I/O goes through activities. The workflow owns a :class:`TaskBoard` over its
:class:`TransitionCore`, so all state stays in the one model continue-as-new carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from activities.notifications import NotificationActivities
    from activities.read_model import ReadModelActivities
    from domain import tasks as task_rules
    from domain.escalation import (
        EscalationDecision,
        EscalationPolicy,
        Recipient,
        acknowledgement_deadline,
        decide,
        start_escalation,
    )
    from domain.notifications import NotificationReason, NotificationRequest, PolicyQuery
    from domain.tasks import CommandRefused, Task, TaskKind
    from domain.timeline import EventKind
    from domain.transition import Projection, TransitionCore, TransitionRecord, TransitionSnapshot
    from workflows import search_attributes as sa
    from workflows.metrics import record_escalation_lag

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["UnknownPolicy"],
)


def refuse(reason: str) -> ApplicationError:
    """The one way a workflow refuses a command: the caller sees `reason` as it is."""
    return ApplicationError(reason, type="CommandRefused", non_retryable=True)


class TaskBoard:
    def __init__(self, core: TransitionCore) -> None:
        self.core = core
        self._sync_lock = asyncio.Lock()
        self._watchers: list[asyncio.Task[None]] = []

    # --- registering the transition -------------------------------------------------------

    async def register(self, record: TransitionRecord) -> None:
        """Make the transition findable (search attributes), put it in the read model and
        open its timeline: the first thing every transition workflow does."""
        workflow.upsert_search_attributes(
            [
                sa.TRANSITION_KIND.value_set(record.kind.value),
                sa.MUNICIPALITY_NUMBER.value_set(record.municipality_number),
                sa.ORIGIN_UNIT.value_set(record.origin_unit_id),
            ]
        )
        await workflow.execute_activity_method(
            ReadModelActivities.register_transition,
            record,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self.core.record(workflow.now(), EventKind.TRANSITION_STARTED, actor_id=record.started_by)

    # --- opening steps ---------------------------------------------------------------

    async def open_task(
        self,
        kind: TaskKind,
        owner_unit_id: str,
        due_at: datetime | None = None,
        bounces: list[str] | None = None,
    ) -> Task:
        """Hand a step to its owner with a frozen policy snapshot, and start escalating it."""
        policy = await self._load_policy(kind, owner_unit_id)
        now = workflow.now()
        task = Task(
            id=str(workflow.uuid4()),
            transition_id=self.core.transition_id,
            kind=kind,
            owner_unit_id=owner_unit_id,
            created_at=now,
            due_at=due_at or acknowledgement_deadline(policy, now),
            policy=policy,
            escalation=start_escalation(policy, now),
            bounces=bounces or [],
        )
        task = self.core.put_task(task)
        self.core.record(
            now,
            EventKind.TASK_CREATED,
            task_id=task.id,
            task_kind=kind.value,
            owner_unit_id=owner_unit_id,
            due_at=task.due_at.isoformat(),
            policy=f"{policy.id} v{policy.version}",
        )
        await self.sync()
        await self._notify(task, NotificationReason.NEW_TASK, 0, policy.levels[0].notify)
        self._watch(task.id)
        return task

    def idle(self) -> bool:
        """No read-model write in flight: safe to continue-as-new without losing events."""
        return not self._sync_lock.locked()

    def resume(self) -> None:
        """After continue-as-new: go on watching the steps that are still open."""
        for task in self.core.open_tasks():
            self._watch(task.id)

    def _watch(self, task_id: str) -> None:
        # Keep references: the event loop holds tasks weakly.
        self._watchers.append(asyncio.create_task(self._escalate_until_acknowledged(task_id)))
        self._watchers.append(asyncio.create_task(self._flag_when_overdue(task_id)))

    async def _load_policy(self, kind: TaskKind, owner_unit_id: str) -> EscalationPolicy:
        query = PolicyQuery(
            municipality_number=self.core.municipality_number,
            unit_id=owner_unit_id,
            task_kind=kind,
        )
        return await workflow.execute_activity_method(
            DirectoryActivities.load_escalation_policy,
            query,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    # --- escalation --------------------------------------------------------------------

    async def _escalate_until_acknowledged(self, task_id: str) -> None:
        while True:
            task = self.core.tasks[task_id]
            next_at = task.escalation.next_at
            if next_at is None or not task.is_open:
                return
            if await self._woken_before(next_at, self._change_of(task_id, next_at)):
                continue
            decision = decide(task.policy, task.escalation, workflow.now())
            if decision is not None:
                await self._apply_escalation(task_id, decision)
                record_escalation_lag(next_at, decision.action, decision.level)

    async def _flag_when_overdue(self, task_id: str) -> None:
        task = self.core.tasks[task_id]
        if await self._woken_before(task.due_at, lambda: not self.core.tasks[task_id].is_open):
            return
        task = self.core.tasks[task_id]
        if task.is_open and task.due_at <= workflow.now():
            self.core.record(workflow.now(), EventKind.TASK_OVERDUE, task_id=task_id)
            await self.sync()

    def _change_of(self, task_id: str, next_at: datetime) -> Callable[[], bool]:
        """A condition that holds once the task closes or its next escalation moves."""

        def changed() -> bool:
            task = self.core.tasks[task_id]
            return not task.is_open or task.escalation.next_at != next_at

        return changed

    async def _woken_before(self, at: datetime, condition: Callable[[], bool]) -> bool:
        """Wait until `at` or until `condition` holds; True if the condition woke us."""
        remaining = at - workflow.now()
        if remaining <= timedelta(0):
            return condition()
        try:
            await workflow.wait_condition(condition, timeout=remaining)
        except TimeoutError:
            return False
        return True

    async def _apply_escalation(self, task_id: str, decision: EscalationDecision) -> None:
        task = self.core.tasks[task_id]
        task = self.core.put_task(task.model_copy(update={"escalation": decision.state}))
        kind = EventKind.ESCALATED if decision.action == "escalate" else EventKind.REMINDED
        self.core.record(
            workflow.now(),
            kind,
            task_id=task_id,
            level=str(decision.level),
            notify=",".join(r.value for r in decision.notify),
            channels=",".join(c.value for c in decision.channels),
            next_at=decision.state.next_at.isoformat() if decision.state.next_at else "",
        )
        await self.sync()
        reason = (
            NotificationReason.ESCALATION
            if decision.action == "escalate"
            else NotificationReason.REMINDER
        )
        await self._notify(
            task, reason, decision.level, decision.notify, decision.state.reminders_sent
        )

    async def notify(
        self,
        task: Task,
        reason: NotificationReason,
        level: int,
        recipients: tuple[Recipient, ...],
        occasion: int = 0,
    ) -> None:
        """Notify outside the escalation chain (a double bounce, a moved date, a missed
        follow-up); `occasion` keeps each such notice's delivery key distinct."""
        await self._notify(task, reason, level, recipients, occasion)

    async def _notify(
        self,
        task: Task,
        reason: NotificationReason,
        level: int,
        recipients: tuple[Recipient, ...],
        occasion: int = 0,
    ) -> None:
        request = NotificationRequest(
            key=f"{task.id}:{reason.value}:{level}:{occasion}",
            transition_id=self.core.transition_id,
            task_id=task.id,
            task_kind=task.kind,
            owner_unit_id=task.owner_unit_id,
            origin_unit_id=self.core.origin_unit_id,
            municipality_number=self.core.municipality_number,
            reason=reason,
            level=level,
            recipients=recipients,
            channels=task.policy.levels[level].channels,
        )
        receipt = await workflow.execute_activity_method(
            NotificationActivities.notify,
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        for delivery in receipt.deliveries:
            self.core.record(
                workflow.now(),
                EventKind.NOTIFIED,
                task_id=task.id,
                channel=delivery.channel.value,
                person_id=delivery.person_id or "",
                unit_id=delivery.unit_id or "",
                reason=reason.value,
                level=str(level),
                sent_at=delivery.sent_at.isoformat() if delivery.sent_at else "",
                on_behalf_of=delivery.on_behalf_of or "",
            )
        await self.sync()

    # --- commands ----------------------------------------------------------------------

    def task(self, task_id: str) -> Task:
        task = self.core.tasks.get(task_id)
        if task is None:
            raise refuse(f"task {task_id} does not belong to this transition")
        return task

    def check(self, command: Callable[[], Task]) -> Task:
        """Run a pure command; a refusal becomes the ApplicationError the caller sees."""
        try:
            return command()
        except CommandRefused as refused:
            raise refuse(refused.reason) from None

    async def commit(self, task: Task, event: EventKind, actor_id: str, **detail: str) -> Task:
        """Store a task a command produced, record the event, and write the read model."""
        task = self.core.put_task(task)
        self.core.record(workflow.now(), event, task_id=task.id, actor_id=actor_id, **detail)
        await self.sync()
        return task

    async def forward(self, rejected: Task, to_unit_id: str, actor_id: str) -> Task:
        """Reject-and-forward: the same step goes to another unit, carrying its bounces."""
        task = await self.open_task(
            rejected.kind, to_unit_id, bounces=[*rejected.bounces, rejected.owner_unit_id]
        )
        self.core.record(
            workflow.now(),
            EventKind.TASK_FORWARDED,
            task_id=rejected.id,
            actor_id=actor_id,
            from_unit_id=rejected.owner_unit_id,
            to_unit_id=to_unit_id,
            new_task_id=task.id,
            bounces=str(len(task.bounces)),
        )
        await self.sync()
        return task

    def cancel_open_tasks(self, reason: str) -> None:
        now = workflow.now()
        for task in self.core.open_tasks():
            self.core.put_task(task_rules.cancel(task, now, reason))
            self.core.record(now, EventKind.TASK_CANCELLED, task_id=task.id, reason=reason)

    # --- read model and search attributes ------------------------------------------------

    async def sync(self) -> None:
        """Write what changed to the read model; serialised so revisions arrive in order."""
        async with self._sync_lock:
            if not self.core.pending_events and not self.core.dirty_task_ids:
                return
            projection = self._take_projection()
            self._upsert_search_attributes()
            await workflow.execute_activity_method(
                ReadModelActivities.project,
                projection,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )

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
