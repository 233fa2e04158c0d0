"""The LAR answer deadline: a consultation not acknowledged by the start of the working day
before the effective date escalates to its policy's last level (domain.lar.answer_deadline);
the leaders are told. One watcher per consultation (a revision opens a new one)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.lar import LarChangeState, consultation
    from domain.tasks import Task
    from domain.timeline import EventKind
    from workflows.task_board import TaskBoard
    from workflows.timers import wait_until


class AnswerDeadlineWatcher:
    def __init__(self, state: LarChangeState, board: TaskBoard) -> None:
        self.state = state
        self.board = board

    def watch(self) -> None:
        """Watch the current consultation, unless it is answered or already escalated."""
        task = consultation(self.state.core.tasks)
        if task is not None and task.is_open and not self.state.answer_deadline_missed:
            watch = self._escalate_unless_acknowledged(task.id)
            self.board.supervisor.watch("LAR answer deadline", watch)

    async def _escalate_unless_acknowledged(self, task_id: str) -> None:
        def settled() -> bool:
            task = self.state.core.tasks[task_id]
            return task.is_acknowledged or not task.is_open

        due = self.state.core.tasks[task_id].due_at
        if await wait_until(due, settled) and not settled():
            await self._escalate(self.state.core.tasks[task_id])

    async def _escalate(self, task: Task) -> None:
        self.state.answer_deadline_missed = True
        await self.board.escalate_to_top(
            task,
            EventKind.ANSWER_DEADLINE_MISSED,
            "not acknowledged by the working day before the effective date",
            effective_date=self.state.current_effective_date.isoformat(),
        )
