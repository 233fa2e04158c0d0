"""The overdue watcher: flags an open step overdue once, when its deadline comes, following
the deadline when it moves (earlier or later), and keeps the `Overdue` search attribute true
while the step is open and overdue. The flag (``Task.overdue_at``) is part of the state, so a
continued-as-new run does not flag it again."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.tasks import flag_overdue
    from domain.timeline import EventKind
    from workflows.timers import wait_for_deadline, wait_until
    from workflows.versions import OVERDUE_FOLLOWS_DEADLINE

if TYPE_CHECKING:
    from workflows.task_board import TaskBoard


class OverdueWatcher:
    def __init__(self, board: TaskBoard) -> None:
        self.board = board
        self.core = board.core

    def watch(self, task_id: str) -> None:
        self.board.supervisor.watch(f"overdue watch of task {task_id}", self._watch(task_id))

    async def _watch(self, task_id: str) -> None:
        if not workflow.patched(OVERDUE_FOLLOWS_DEADLINE):
            await self._watch_the_first_deadline(task_id)
            return
        while await wait_for_deadline(lambda: self._due(task_id), lambda: self._closed(task_id)):
            self._flag(task_id)
            await self._until_moved_or_closed(task_id)

    async def _until_moved_or_closed(self, task_id: str) -> None:
        """Overdue now: wait for the deadline to move or the step to close (then follow it)."""
        due = self._due(task_id)
        await workflow.wait_condition(lambda: self._closed(task_id) or self._due(task_id) != due)

    def _due(self, task_id: str) -> datetime:
        return self.core.tasks[task_id].due_at

    def _closed(self, task_id: str) -> bool:
        return not self.core.tasks[task_id].is_open

    def _flag(self, task_id: str) -> None:
        flagged = flag_overdue(self.core.tasks[task_id], workflow.now())
        if flagged is not None:
            self.core.put_task(flagged)
            self.core.record(workflow.now(), EventKind.TASK_OVERDUE, task_id=task_id)
        self.board.projector.flush_in_background()  # the Overdue search attribute

    async def _watch_the_first_deadline(self, task_id: str) -> None:
        """Runs that began before OVERDUE_FOLLOWS_DEADLINE: one timer to the first deadline."""
        task = self.core.tasks[task_id]
        if await wait_until(task.due_at, lambda: not self.core.tasks[task_id].is_open):
            task = self.core.tasks[task_id]
            if task.is_open and task.due_at <= workflow.now():
                self.core.record(workflow.now(), EventKind.TASK_OVERDUE, task_id=task_id)
                async with self.board.supervisor.busy():
                    await self.board.projector.flush()
