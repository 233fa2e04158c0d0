"""The follow-up watcher: no first contact within the window after discharge (default 7
days, the national quality indicator) escalates the follow-up step to its last level,
acknowledged or not: what counts is the contact, not the receipt."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.discharge import DischargeState
    from domain.tasks import Task
    from domain.timeline import EventKind
    from workflows.task_board import TaskBoard
    from workflows.timers import wait_until


class FollowUpWatcher:
    def __init__(self, state: DischargeState, board: TaskBoard) -> None:
        self.state = state
        self.board = board

    def watch(self, task_id: str) -> None:
        self.board.supervisor.watch("follow-up watcher", self._watch(task_id))

    async def _watch(self, task_id: str) -> None:
        due = self.state.core.tasks[task_id].due_at
        if await wait_until(due, lambda: not self.state.core.tasks[task_id].is_open):
            await self._escalate(self.state.core.tasks[task_id])

    async def _escalate(self, task: Task) -> None:
        self.state.follow_up_missed = True
        await self.board.escalate_to_top(
            task,
            EventKind.FOLLOW_UP_MISSED,
            "no first contact recorded within the follow-up window",
            within=str(self.state.start.timing.follow_up_within),
        )
