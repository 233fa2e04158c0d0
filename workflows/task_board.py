"""The task machinery every transition workflow shares: open a step, apply people's commands
to it, and keep the read model in step. Each timer-driven concern has its own home
(escalation_watcher, overdue_watcher), as do the read model (projection) and notices
(notifier); background work runs under one :class:`Supervisor`.

Deterministic: time comes from ``workflow.now()``, ids from ``workflow.uuid4()``, and every
I/O goes through activities. The workflow owns a :class:`TaskBoard` over its
:class:`TransitionCore`, so all state stays in the one model continue-as-new carries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import tasks as task_rules
    from domain.escalation import (
        EscalationPolicy,
        Recipient,
        acknowledgement_deadline,
        start_escalation,
    )
    from domain.notifications import NotificationReason, NotificationRequest, PolicyQuery
    from domain.tasks import CommandRefused, Task, TaskKind
    from domain.timeline import EventKind
    from domain.transition import TransitionCore, TransitionRecord
    from workflows import activity_stubs as stubs
    from workflows.escalation_watcher import EscalationWatcher
    from workflows.notifier import Notifier
    from workflows.overdue_watcher import OverdueWatcher
    from workflows.projection import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, Projector
    from workflows.supervision import Supervisor
    from workflows.versions import NOTICES_IN_BACKGROUND


def refuse(reason: str) -> ApplicationError:
    """The one way a workflow refuses a command: the caller sees `reason` as it is."""
    return ApplicationError(reason, type="CommandRefused", non_retryable=True)


class TaskBoard:
    def __init__(self, core: TransitionCore) -> None:
        self.core = core
        self.supervisor = Supervisor()
        self.projector = Projector(core, self.supervisor)
        self.notifier = Notifier(core, self.supervisor, self.projector)
        self.escalation = EscalationWatcher(self)
        self.overdue = OverdueWatcher(self)

    def notices_in_background(self) -> bool:
        return workflow.patched(NOTICES_IN_BACKGROUND)

    # --- registering the transition -------------------------------------------------------

    async def register(self, record: TransitionRecord) -> None:
        """Make the transition findable, put it in the read model and open its timeline:
        the first thing every transition workflow does."""
        await self.projector.register(record)
        self.core.record(workflow.now(), EventKind.TRANSITION_STARTED, actor_id=record.started_by)

    # --- opening steps ---------------------------------------------------------------

    async def open_task(
        self,
        kind: TaskKind,
        owner_unit_id: str,
        due_at: datetime | None = None,
        bounces: list[str] | None = None,
    ) -> Task:
        """Hand a step to its owner with a frozen policy snapshot, and start escalating it.
        Returns once the step is in the read model; its notice follows in the background."""
        policy = await self._load_policy(kind, owner_unit_id)
        task = self._new_task(kind, owner_unit_id, policy, due_at, bounces or [])
        await self.sync()
        notice = self.notifier.request_for(
            task, NotificationReason.NEW_TASK, 0, policy.levels[0].notify
        )
        if self.notices_in_background():
            self.notifier.send_in_background(notice)
        else:
            await self.notifier.send_and_wait(notice)
        self._watch(task.id)
        return task

    def _new_task(
        self,
        kind: TaskKind,
        owner_unit_id: str,
        policy: EscalationPolicy,
        due_at: datetime | None,
        bounces: list[str],
    ) -> Task:
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
            bounces=bounces,
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
        return task

    def idle(self) -> bool:
        """No read-model write or notice in flight: safe to continue as new or to end."""
        return self.projector.idle and self.supervisor.idle

    def resume(self) -> None:
        """After continue-as-new: go on watching the steps that are still open."""
        for task in self.core.open_tasks():
            self._watch(task.id)

    def _watch(self, task_id: str) -> None:
        self.escalation.watch(task_id)
        self.overdue.watch(task_id)

    async def _load_policy(self, kind: TaskKind, owner_unit_id: str) -> EscalationPolicy:
        query = PolicyQuery(
            municipality_number=self.core.municipality_number,
            unit_id=owner_unit_id,
            task_kind=kind,
        )
        return await workflow.execute_activity(
            stubs.load_escalation_policy,
            query,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def escalate_to_top(
        self, task: Task, missed: EventKind, reason: str, **facts: str
    ) -> None:
        """A step's hard deadline passed (LAR answer, follow-up): record `missed` with its
        facts, escalate the step to its policy's last level, and tell that level."""
        top = len(task.policy.levels) - 1
        task = self.core.put_task(task_rules.escalate_to(task, top, workflow.now()))
        self.core.record(workflow.now(), missed, task_id=task.id, **facts)
        self.core.record(
            workflow.now(), EventKind.ESCALATED, task_id=task.id, level=str(top), reason=reason
        )
        async with self.supervisor.busy():
            await self.sync()
        level = task.policy.levels[top]
        await self.notify(task, NotificationReason.ESCALATION, top, level.notify, 1)

    # --- notices outside the escalation chain --------------------------------------------

    async def notify(
        self,
        task: Task,
        reason: NotificationReason,
        level: int,
        recipients: tuple[Recipient, ...],
        occasion: int = 0,
    ) -> None:
        """Notify outside the escalation chain (a double bounce, a moved date, a missed
        follow-up, an objection); `occasion` keeps each such notice's delivery key distinct."""
        notice = self.notifier.request_for(task, reason, level, recipients, occasion)
        await self.send(notice)

    async def send(self, notice: NotificationRequest) -> None:
        if self.notices_in_background():
            self.notifier.send_in_background(notice)
        else:
            async with self.supervisor.busy():
                await self.notifier.send_and_wait(notice)

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

    def move_deadline(self, task: Task, due_at: datetime) -> Task:
        """A new deadline for an open step: its overdue watcher follows it."""
        return self.core.put_task(task_rules.move_deadline(task, due_at))

    async def sync(self) -> None:
        """Write what changed to the read model (a command's answer waits for this)."""
        await self.projector.flush()
