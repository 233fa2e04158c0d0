"""The Updates every transition workflow answers: people's commands on its tasks.

Each Update has a validator that runs the pure command from ``domain.tasks`` against the
current state, so a refused command is refused before it is written to history and the
caller gets the reason. Subclasses own a :class:`TaskBoard` as ``self.board``.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
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
    from domain.transition import CancelTransition, TransitionStatus
    from workflows.task_board import TaskBoard, refuse
    from workflows.versions import WAIT_FOR_BACKGROUND_WORK


class TransitionView(BaseModel):
    """What the caller of a command or a start sees back."""

    transition_id: str
    status: TransitionStatus
    tasks: list[Task]


class TransitionWorkflow:
    board: TaskBoard
    _continue_requested: bool = False

    @workflow.update
    async def acknowledge(self, command: AcknowledgeTask) -> Task:
        task = self._acknowledged(command)
        task = await self.board.commit(task, EventKind.TASK_ACKNOWLEDGED, command.actor.person_id)
        await self.after_command(task)
        return task

    @acknowledge.validator
    def _validate_acknowledge(self, command: AcknowledgeTask) -> None:
        self._acknowledged(command)

    def _acknowledged(self, command: AcknowledgeTask) -> Task:
        task = self.board.task(command.task_id)
        return self.board.check(lambda: rules.acknowledge(task, command.actor, workflow.now()))

    @workflow.update
    async def accept(self, command: AcceptTask) -> Task:
        task = self._accepted(command)
        task = await self.board.commit(task, EventKind.TASK_ACCEPTED, command.actor.person_id)
        await self.after_command(task)
        return task

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
        task = await self.board.commit(
            task, EventKind.TASK_COMPLETED, command.actor.person_id, **note
        )
        await self.after_command(task)
        return task

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

    # --- cancelling the whole transition (avmelding) -------------------------------------

    @workflow.update
    async def cancel(self, command: CancelTransition) -> TransitionView:
        await self.cancel_transition(command.reason, command.actor.person_id)
        return self.transition_view()

    @cancel.validator
    def _validate_cancel(self, command: CancelTransition) -> None:
        core = self.board.core
        if core.status is not TransitionStatus.ACTIVE:
            raise refuse(f"the transition is already {core.status.value}")
        if not command.actor.acts_for(core.origin_unit_id):
            raise refuse(f"only unit {core.origin_unit_id}, which started it, may cancel it")

    async def cancel_transition(self, reason: str, actor_id: str | None) -> None:
        """Cancel every open step with the reason, then let the kind cancel its children."""
        core = self.board.core
        if core.status is not TransitionStatus.ACTIVE:
            return
        self.board.cancel_open_tasks(reason)
        core.status = TransitionStatus.CANCELLED
        core.revision += 1
        core.record(
            workflow.now(), EventKind.TRANSITION_CANCELLED, actor_id=actor_id, reason=reason
        )
        await self.on_cancelled(reason)
        await self.board.sync()

    def transition_view(self) -> TransitionView:
        core = self.board.core
        return TransitionView(
            transition_id=core.transition_id,
            status=core.status,
            tasks=sorted(core.tasks.values(), key=lambda t: t.created_at),
        )

    # --- the run's own waits: supervised, continuing as new when the history is long -------

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait for `condition`; an error in background work fails the workflow task here."""
        supervisor = self.board.supervisor
        await workflow.wait_condition(lambda: condition() or supervisor.failed)
        supervisor.check()

    def history_is_long(self) -> bool:
        """Time to continue as new: the server suggests it, or an operator asked for it."""
        return workflow.info().is_continue_as_new_suggested() or self._continue_requested

    @workflow.signal
    def continue_as_new_now(self) -> None:
        """Operators: move this run onto a fresh history (and the current workflow code)."""
        self._continue_requested = True

    async def continue_as_new_when_idle(self, carry: BaseModel) -> None:
        """Hand all state to a fresh run once nothing is under way (nothing is dropped)."""
        if workflow.patched(WAIT_FOR_BACKGROUND_WORK):
            await self.until(lambda: workflow.all_handlers_finished() and self.board.idle())
        else:  # as runs did before: handlers and read-model writes only
            projector = self.board.projector
            await self.until(lambda: workflow.all_handlers_finished() and projector.idle)
        workflow.continue_as_new(carry)

    async def settle(self) -> None:
        """Before the run ends: wait until no handler, notice or write is under way."""
        if workflow.patched(WAIT_FOR_BACKGROUND_WORK):
            await self.until(lambda: workflow.all_handlers_finished() and self.board.idle())
        else:  # as runs did before: handlers only
            await self.until(workflow.all_handlers_finished)

    # --- hooks for the kinds of transition ------------------------------------------------

    async def after_command(self, task: Task) -> None:
        """React to a person's command on a step (open the next steps); nothing by default."""

    async def on_cancelled(self, reason: str) -> None:
        """Cancel what the transition started besides its own steps; nothing by default."""

    def validate_forward(self, command: RejectTask) -> None:
        """Refuse a forward to the unit that already owns the step."""
        if command.forward_to_unit_id == self.board.task(command.task_id).owner_unit_id:
            raise refuse("cannot forward a task to the unit that owns it")

    async def on_rejected(self, task: Task, command: RejectTask) -> None:
        """Forward a rejected step to another unit, keeping the record of every bounce."""
        if command.forward_to_unit_id:
            await self.board.forward(task, command.forward_to_unit_id, command.actor.person_id)
