"""The Updates every transition workflow answers: people's commands on its tasks.

Each Update has a validator that runs the pure command from ``domain.tasks`` against the
current state, so a refused command is refused before it is written to history and the
caller gets the reason. Subclasses own a :class:`TaskBoard` as ``self.board``.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tasks as rules
    from domain.commands import (
        AcceptTask,
        AcknowledgeTask,
        AssignTask,
        CompleteTask,
        RejectTask,
        StartTask,
    )
    from domain.tasks import Task
    from domain.timeline import EventKind
    from workflows.task_board import TaskBoard


class TransitionWorkflow:
    board: TaskBoard

    @workflow.update
    async def acknowledge(self, command: AcknowledgeTask) -> Task:
        task = self._acknowledged(command)
        return await self.board.commit(task, EventKind.TASK_ACKNOWLEDGED, command.actor.person_id)

    @acknowledge.validator
    def _validate_acknowledge(self, command: AcknowledgeTask) -> None:
        self._acknowledged(command)

    def _acknowledged(self, command: AcknowledgeTask) -> Task:
        task = self.board.task(command.task_id)
        return self.board.check(lambda: rules.acknowledge(task, command.actor, workflow.now()))

    @workflow.update
    async def accept(self, command: AcceptTask) -> Task:
        task = self._accepted(command)
        return await self.board.commit(task, EventKind.TASK_ACCEPTED, command.actor.person_id)

    @accept.validator
    def _validate_accept(self, command: AcceptTask) -> None:
        self._accepted(command)

    def _accepted(self, command: AcceptTask) -> Task:
        task = self.board.task(command.task_id)
        return self.board.check(lambda: rules.accept(task, command.actor, workflow.now()))

    @workflow.update
    async def reject(self, command: RejectTask) -> Task:
        task = self._rejected(command)
        detail = {"reason": command.reason}
        if command.forward_to_unit_id:
            detail["forward_to_unit_id"] = command.forward_to_unit_id
        task = await self.board.commit(
            task, EventKind.TASK_REJECTED, command.actor.person_id, **detail
        )
        await self.on_rejected(task, command)
        return task

    @reject.validator
    def _validate_reject(self, command: RejectTask) -> None:
        self._rejected(command)
        self.validate_forward(command)

    def _rejected(self, command: RejectTask) -> Task:
        task = self.board.task(command.task_id)
        return self.board.check(
            lambda: rules.reject(task, command.actor, workflow.now(), command.reason)
        )

    @workflow.update
    async def start_work(self, command: StartTask) -> Task:
        task = self._started(command)
        return await self.board.commit(task, EventKind.TASK_STARTED, command.actor.person_id)

    @start_work.validator
    def _validate_start_work(self, command: StartTask) -> None:
        self._started(command)

    def _started(self, command: StartTask) -> Task:
        task = self.board.task(command.task_id)
        return self.board.check(lambda: rules.start_work(task, command.actor, workflow.now()))

    @workflow.update
    async def complete(self, command: CompleteTask) -> Task:
        task = self._completed(command)
        note = {"note": command.note} if command.note else {}
        return await self.board.commit(
            task, EventKind.TASK_COMPLETED, command.actor.person_id, **note
        )

    @complete.validator
    def _validate_complete(self, command: CompleteTask) -> None:
        self._completed(command)

    def _completed(self, command: CompleteTask) -> Task:
        task = self.board.task(command.task_id)
        return self.board.check(
            lambda: rules.complete(task, command.actor, workflow.now(), command.note)
        )

    @workflow.update
    async def assign(self, command: AssignTask) -> Task:
        task = self._assigned(command)
        return await self.board.commit(
            task, EventKind.TASK_ASSIGNED, command.actor.person_id, assignee_id=command.assignee_id
        )

    @assign.validator
    def _validate_assign(self, command: AssignTask) -> None:
        self._assigned(command)

    def _assigned(self, command: AssignTask) -> Task:
        task = self.board.task(command.task_id)
        return self.board.check(lambda: rules.assign(task, command.actor, command.assignee_id))

    # --- hooks for the kinds of transition ------------------------------------------------

    def validate_forward(self, command: RejectTask) -> None:
        """Refuse a forward the workflow kind does not allow; by default none is refused."""

    async def on_rejected(self, task: Task, command: RejectTask) -> None:
        """Forward a rejected step to another unit, keeping the record of every bounce."""
        if command.forward_to_unit_id:
            await self.board.forward(task, command.forward_to_unit_id, command.actor.person_id)
