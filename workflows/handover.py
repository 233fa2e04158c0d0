"""HandoverWorkflow: a handover to a municipal unit (housing office, NAV office, any unit).

request -> acknowledged -> accepted or rejected -> in progress -> completed, with a deadline
(for a discharge: derived from the expected discharge date). A recipient may reject and
forward with a reason; the second bounce of one handover escalates to the leaders of every
unit involved (skyveproblematikk). As a child of a DischargeWorkflow it has its own
transition row (kind handover, details.parent_transition_id) whose tasks and timeline the
parent's view shows, and it reports its end to the parent by signal.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tasks as task_rules
    from domain.commands import RejectTask
    from domain.discharge import HandoverStatus
    from domain.escalation import Recipient
    from domain.handover import (
        CancelFromParent,
        HandoverResult,
        HandoverStart,
        HandoverState,
        MoveDeadline,
        needs_bounce_escalation,
        outcome,
        units_involved,
    )
    from domain.notifications import NotificationReason
    from domain.tasks import Task
    from domain.timeline import EventKind
    from domain.transition import TransitionCore, TransitionKind, TransitionRecord, TransitionStatus
    from workflows.task_board import TaskBoard
    from workflows.transition import TransitionView, TransitionWorkflow
    from workflows.versions import DEADLINE_BEFORE_STEP_OPENS


class HandoverInput(BaseModel):
    start: HandoverStart
    state: HandoverState | None = None  # set when continuing as new


class HandoverParent:
    """What a child handover tells the workflow that started it (DischargeWorkflow): the
    typed reference the child signals, so the name is checked, not spelled."""

    @workflow.signal
    async def handover_finished(self, result: HandoverResult) -> None:
        raise NotImplementedError


def workflow_id_for(transition_id: str) -> str:
    return f"handover-{transition_id}"


@workflow.defn
class HandoverWorkflow(TransitionWorkflow):
    @workflow.init
    def __init__(self, input: HandoverInput) -> None:
        start = input.start
        self.state = input.state or HandoverState(
            start=start,
            core=TransitionCore(
                transition_id=start.transition_id,
                kind=TransitionKind.HANDOVER,
                municipality_number=start.municipality_number,
                origin_unit_id=start.origin_unit_id,
            ),
        )
        self.board = TaskBoard(self.state.core)

    @workflow.run
    async def run(self, input: HandoverInput) -> HandoverResult:
        if self.state.initialized:
            self.board.resume()
            await self.board.sync()
        else:
            await self._begin()
        await self.until(lambda: self._finished() or self.history_is_long())
        if not self._finished():
            await self.continue_as_new_when_idle(
                HandoverInput(start=self.state.start, state=self.state)
            )
        return await self._close()

    async def _begin(self) -> None:
        start = self.state.start
        await self.board.register(self._record())
        # Read the deadline after the await: the parent may have moved it meanwhile.
        due_at = self.state.start.due_at
        await self.board.open_task(start.kind, start.owner_unit_id, due_at=due_at)
        self.state.initialized = True

    def _record(self) -> TransitionRecord:
        start = self.state.start
        details = {
            "handover_kind": start.kind.value,
            "purpose": start.purpose,
            "parent_transition_id": start.parent_transition_id,
            "batch_id": start.batch_id,
            "batch_size": start.batch_size,
            "consents": start.consents or None,
        }
        return TransitionRecord(
            id=start.transition_id,
            kind=TransitionKind.HANDOVER,
            workflow_id=workflow.info().workflow_id,
            patient_id=start.patient_id,
            municipality_number=start.municipality_number,
            origin_unit_id=start.origin_unit_id,
            started_by=start.started_by,
            what_matters=start.what_matters,
            started_at=workflow.now(),
            details={k: v for k, v in details.items() if v is not None},
        )

    def _finished(self) -> bool:
        # A running handler may be opening a step (a forward after a rejection): wait for it.
        idle = workflow.all_handlers_finished()
        return self.state.initialized and not self.state.core.open_tasks() and idle

    async def _close(self) -> HandoverResult:
        core = self.state.core
        status = outcome(list(core.tasks.values()), core.status is TransitionStatus.CANCELLED)
        if core.status is TransitionStatus.ACTIVE:
            core.status = TransitionStatus.COMPLETED
            core.revision += 1
            core.record(workflow.now(), EventKind.TRANSITION_COMPLETED, outcome=status.value)
        await self.board.sync()
        result = self._result(status)
        await self._tell_parent(result)
        await self.settle()
        return result

    def _result(self, status: HandoverStatus) -> HandoverResult:
        last = max(self.state.core.tasks.values(), key=lambda t: t.created_at)
        return HandoverResult(
            kind=self.state.start.kind,
            workflow_id=workflow.info().workflow_id,
            transition_id=self.state.start.transition_id,
            status=status,
            owner_unit_id=last.owner_unit_id,
            reason=last.reason,
        )

    async def _tell_parent(self, result: HandoverResult) -> None:
        parent = self.state.start.parent_workflow_id
        if parent is None or self.state.parent_told:
            return
        await workflow.get_external_workflow_handle(parent).signal(
            HandoverParent.handover_finished, result
        )
        self.state.parent_told = True

    # --- reject and forward; the double bounce ---------------------------------------------

    async def on_rejected(self, task: Task, command: RejectTask) -> None:
        if not command.forward_to_unit_id:
            return
        forwarded = await self.board.forward(
            task, command.forward_to_unit_id, command.actor.person_id
        )
        limit = self.state.start.bounce_limit
        if needs_bounce_escalation(forwarded, limit, self.state.bounce_escalated):
            await self._escalate_bounces(forwarded)

    async def _escalate_bounces(self, task: Task) -> None:
        """Skyveproblematikk: tell the leader of every unit the step has bounced between."""
        self.state.bounce_escalated = True
        top = len(task.policy.levels) - 1
        task = self.state.core.put_task(task_rules.escalate_to(task, top, workflow.now()))
        units = units_involved(task)
        self.state.core.record(
            workflow.now(),
            EventKind.BOUNCE_ESCALATED,
            task_id=task.id,
            bounces=str(len(task.bounces)),
            units=",".join(units),
            level=str(top),
        )
        await self.board.sync()
        for occasion, unit in enumerate(units):
            as_owned_by = task.model_copy(update={"owner_unit_id": unit})
            await self.board.notify(
                as_owned_by, NotificationReason.BOUNCED, top, (Recipient.UNIT_LEADER,), occasion
            )

    # --- messages from the parent discharge --------------------------------------------------

    @workflow.signal
    async def cancel_from_parent(self, message: CancelFromParent) -> None:
        await self.cancel_transition(message.reason, None)

    @workflow.signal
    async def move_deadline(self, message: MoveDeadline) -> None:
        """The discharge date moved: the open step's deadline moves with it, or, while the
        step is still being opened, the deadline it opens with."""
        if not self.state.initialized and workflow.patched(DEADLINE_BEFORE_STEP_OPENS):
            self._move_unopened_deadline(message.due_at)
            return
        for task in self.state.core.open_tasks():
            self.board.move_deadline(task, message.due_at)
            self.state.core.record(
                workflow.now(),
                EventKind.DISCHARGE_DATE_CHANGED,
                task_id=task.id,
                due_at=message.due_at.isoformat(),
            )
        await self.board.sync()

    def _move_unopened_deadline(self, due_at: datetime) -> None:
        self.state.start = self.state.start.model_copy(update={"due_at": due_at})
        self.state.core.record(
            workflow.now(), EventKind.DISCHARGE_DATE_CHANGED, due_at=due_at.isoformat()
        )

    @workflow.query
    def view(self) -> TransitionView:
        return self.transition_view()
