"""The escalation watcher: one timer per open step that walks its frozen policy, level by
level and reminder by reminder, until the step is acknowledged or closes.

What happens when a timer fires is a pure decision (``domain.escalation.decide``); the
watcher applies it to the state at once and leaves the read-model write and the notice to
the background, so neither a slow database nor a slow e-mail server holds the clock. A
worker that was down sends only the latest reminder due and records the ones it skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.escalation import EscalationDecision, decide, skipped_reminders
    from domain.notifications import NotificationReason
    from domain.tasks import Task
    from domain.timeline import EventKind
    from workflows.metrics import record_escalation_lag
    from workflows.timers import wait_for_deadline

if TYPE_CHECKING:
    from workflows.task_board import TaskBoard


class EscalationWatcher:
    def __init__(self, board: TaskBoard) -> None:
        self.board = board
        self.core = board.core

    def watch(self, task_id: str) -> None:
        self.board.supervisor.watch(f"escalation of task {task_id}", self._escalate(task_id))

    async def _escalate(self, task_id: str) -> None:
        while await wait_for_deadline(
            lambda: self.core.tasks[task_id].escalation.next_at, lambda: self._settled(task_id)
        ):
            task = self.core.tasks[task_id]
            decision = decide(task.policy, task.escalation, workflow.now())
            if decision is not None:
                await self._apply(task, decision)

    def _settled(self, task_id: str) -> bool:
        task = self.core.tasks[task_id]
        return not task.is_open or task.escalation.next_at is None

    async def _apply(self, before: Task, decision: EscalationDecision) -> None:
        task = self.core.put_task(before.model_copy(update={"escalation": decision.state}))
        escalate = decision.action == "escalate"
        self.core.record(
            workflow.now(),
            EventKind.ESCALATED if escalate else EventKind.REMINDED,
            task_id=task.id,
            level=str(decision.level),
            notify=",".join(r.value for r in decision.notify),
            channels=",".join(c.value for c in decision.channels),
            next_at=decision.state.next_at.isoformat() if decision.state.next_at else "",
        )
        reason = NotificationReason.ESCALATION if escalate else NotificationReason.REMINDER
        notice = self.board.notifier.request_for(
            task, reason, decision.level, decision.notify, decision.state.reminders_sent
        )
        due = before.escalation.next_at or workflow.now()

        def gone_out() -> None:  # the lag from the due time until the notice went out
            record_escalation_lag(due, decision.action, decision.level)

        if not self.board.notices_in_background():
            async with self.board.supervisor.busy():  # the notice must not be cut off
                await self.board.projector.flush()
                await self.board.notifier.send_and_wait(notice)
            gone_out()
            return
        self._record_skipped(before, decision)
        self.board.projector.flush_in_background()
        self.board.notifier.send_in_background(notice, after=gone_out)

    def _record_skipped(self, before: Task, decision: EscalationDecision) -> None:
        skipped = skipped_reminders(before.policy, before.escalation, decision)
        if skipped:
            self.core.record(
                workflow.now(),
                EventKind.REMINDERS_SKIPPED,
                task_id=before.id,
                level=str(decision.level),
                count=str(len(skipped)),
                first_due_at=skipped[0].isoformat(),
                last_due_at=skipped[-1].isoformat(),
            )
