"""DischargeWorkflow: utskrivning fra DPS/TSB til kommunen, as a durable workflow.

Started by a discharge coordinator (through update-with-start, so the HTTP caller gets the
first task back once it is in the inbox). Steps, each a task with an owner, a deadline and
escalation: municipal intake (kvittere, then accept or reject); once accepted, the
cooperation meeting (the DPS calls it) and, when needed, the coordinator/IP step; housing and
NAV as child HandoverWorkflows (only if needed and consented); LAR informed; after
utskrivningsklar a durable daily count of overliggedøgn; after discharge the follow-up step
(first contact within the agreed window, default 7 days). The transition completes when the
patient is discharged and every step and child is completed or cancelled.

The commands live in discharge_commands; each timer has its own home: handover_starter,
waiting_day_counter, follow_up (and, for every step, escalation_watcher, overdue_watcher).
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.discharge import (
        DischargeStart,
        DischargeState,
        municipality_ready,
        start_of_day,
        task_of_kind,
    )
    from domain.handover import CancelFromParent, HandoverResult
    from domain.tasks import Task, TaskKind, TaskStatus
    from domain.timeline import EventKind
    from domain.transition import (
        TransitionCore,
        TransitionKind,
        TransitionRecord,
        TransitionStatus,
    )
    from workflows.discharge_commands import DischargeCommands
    from workflows.follow_up import FollowUpWatcher
    from workflows.handover import HandoverParent, HandoverWorkflow
    from workflows.handover_starter import HandoverStarter
    from workflows.task_board import TaskBoard
    from workflows.transition import TransitionView
    from workflows.versions import INTAKE_AFTER_DISCHARGE
    from workflows.waiting_day_counter import WaitingDayCounter

__all__ = ["DischargeInput", "DischargeOutcome", "DischargeWorkflow", "TransitionView"]


class DischargeInput(BaseModel):
    start: DischargeStart
    started_by: str
    state: DischargeState | None = None  # set when continuing as new


class DischargeOutcome(BaseModel):
    transition_id: str
    status: TransitionStatus
    waiting_days: int = 0


def workflow_id_for(transition_id: str) -> str:
    return f"discharge-{transition_id}"


@workflow.defn
class DischargeWorkflow(DischargeCommands, HandoverParent):
    @workflow.init
    def __init__(self, input: DischargeInput) -> None:
        self.state = input.state or DischargeState(
            start=input.start,
            core=TransitionCore(
                transition_id=input.start.transition_id,
                kind=TransitionKind.DISCHARGE,
                municipality_number=input.start.municipality_number,
                origin_unit_id=input.start.origin_unit_id,
                expected_discharge_date=input.start.expected_discharge_date,
            ),
        )
        self.board = TaskBoard(self.state.core)
        self.started_by = input.started_by
        self.handovers = HandoverStarter(self.state, self.board, input.started_by)
        self.waiting_day_counter = WaitingDayCounter(self.state, self.board)
        self.follow_up = FollowUpWatcher(self.state, self.board)

    @workflow.run
    async def run(self, input: DischargeInput) -> DischargeOutcome:
        if self.state.initialized:
            await self._resume()
        else:
            await self._begin()
        await self.until(lambda: self._finished() or self.history_is_long())
        if not self._finished():
            await self.continue_as_new_when_idle(
                DischargeInput(start=self.state.start, started_by=self.started_by, state=self.state)
            )
        await self._close()
        return DischargeOutcome(
            transition_id=self.state.core.transition_id,
            status=self.state.core.status,
            waiting_days=self.state.waiting_days,
        )

    # --- beginning, resuming, ending ------------------------------------------------------

    async def _begin(self) -> None:
        start = self.state.start
        await self.board.register(self._record())
        await self.board.open_task(TaskKind.MUNICIPAL_INTAKE, start.intake_unit_id)
        # The caller of update-with-start gets the intake back now; the rest follows.
        self.state.initialized = True
        if start.needs.lar and start.lar_unit_id:
            await self.board.open_task(TaskKind.LAR_INFORMED, start.lar_unit_id)
        await self.handovers.plan()

    async def _resume(self) -> None:
        """After continue-as-new: restart every timer the previous run was waiting on."""
        self.board.resume()
        await self.board.sync()
        self.handovers.resume()
        core = self.state.core
        if core.ready_at and not core.discharged_at and not self.state.municipality_ready_at:
            self.waiting_day_counter.start()
        follow_up = task_of_kind(core.tasks, TaskKind.FOLLOW_UP)
        if follow_up is not None and not self.state.follow_up_missed:
            self.follow_up.watch(follow_up.id)

    def _record(self) -> TransitionRecord:
        start = self.state.start
        return TransitionRecord(
            id=start.transition_id,
            kind=TransitionKind.DISCHARGE,
            workflow_id=workflow.info().workflow_id,
            patient_id=start.patient_id,
            municipality_number=start.municipality_number,
            origin_unit_id=start.origin_unit_id,
            started_by=self.started_by,
            what_matters=start.what_matters,
            started_at=workflow.now(),
            expected_discharge_date=start.expected_discharge_date,
            details={
                "needs": start.needs.model_dump(),
                "consents": start.consents.model_dump(),
                "relatives": [r.model_dump() for r in start.relatives],
                "serving_sentence": start.serving_sentence,
                "coordinator_id": start.coordinator_id,
            },
        )

    def _finished(self) -> bool:
        core = self.state.core
        ended = core.status is TransitionStatus.CANCELLED or core.discharged_at is not None
        children_done = all(link.finished for link in self.state.handovers.values())
        settled = self.state.initialized and ended and children_done
        # A running handler may be opening a step (the follow-up at discharge): wait for it.
        return settled and not core.open_tasks() and workflow.all_handlers_finished()

    async def _close(self) -> None:
        core = self.state.core
        if core.status is TransitionStatus.ACTIVE:
            core.status = TransitionStatus.COMPLETED
            core.revision += 1
            core.record(
                workflow.now(),
                EventKind.TRANSITION_COMPLETED,
                waiting_days=str(self.state.waiting_days),
            )
        await self.board.sync()
        await self.settle()

    # --- what the child handovers report -------------------------------------------------------

    @workflow.signal
    async def handover_finished(self, result: HandoverResult) -> None:
        link = self.state.handovers.get(result.kind.value)
        if link is None or link.workflow_id != result.workflow_id or link.finished:
            return
        link.status = result.status
        self.state.core.record(
            workflow.now(),
            EventKind.HANDOVER_FINISHED,
            handover_kind=result.kind.value,
            handover_transition_id=result.transition_id,
            outcome=result.status.value,
            reason=result.reason or "",
        )
        self._note_readiness()
        await self.board.sync()

    # --- steps opened by commands ----------------------------------------------------------------

    async def after_command(self, task: Task) -> None:
        if task.kind is TaskKind.LAR_INFORMED and task.status is TaskStatus.RECEIVED:
            # Informing the LAR contact is done when they have acknowledged (kvittert).
            done = task.model_copy(
                update={"status": TaskStatus.COMPLETED, "completed_at": workflow.now()}
            )
            await self.board.commit(done, EventKind.TASK_COMPLETED, task.acknowledged_by or "")
        if task.kind is TaskKind.MUNICIPAL_INTAKE and task.status is TaskStatus.ACCEPTED:
            await self._after_intake_accepted()
        self._note_readiness()
        await self.board.sync()

    async def _after_intake_accepted(self) -> None:
        left = self.state.core.discharged_at is not None
        if left and workflow.patched(INTAKE_AFTER_DISCHARGE):
            # The patient is already out: accepting means the municipality has received them.
            # As at a discharge, the intake is done and no cooperation meeting is held.
            self._complete_accepted_intake()
            await self._open_planning_steps(meeting=False)
        else:
            await self._open_planning_steps()

    async def _open_planning_steps(self, *, meeting: bool = True) -> None:
        """Once the municipality will receive the patient: the meeting, and the coordinator."""
        kinds = {t.kind for t in self.state.core.tasks.values()}
        start = self.state.start
        if meeting and TaskKind.COOPERATION_MEETING not in kinds:
            await self.board.open_task(
                TaskKind.COOPERATION_MEETING,
                start.origin_unit_id,
                due_at=start_of_day(self.state.expected_date),
            )
        if start.needs.coordinator and TaskKind.COORDINATOR not in kinds:
            await self.board.open_task(TaskKind.COORDINATOR, start.intake_unit_id)

    def _note_readiness(self) -> None:
        if self.state.municipality_ready_at is None and municipality_ready(self.state):
            self.state.municipality_ready_at = workflow.now()
            self.state.core.record(workflow.now(), EventKind.MUNICIPALITY_READY)

    async def on_cancelled(self, reason: str) -> None:
        self.handovers.cancel_waiting()
        message = CancelFromParent(reason=f"the discharge was cancelled: {reason}")
        await self.handovers.signal_running(HandoverWorkflow.cancel_from_parent, message)

    # --- queries and the target of update-with-start -----------------------------------------

    @workflow.update
    async def started(self) -> TransitionView:
        """Answers once the first task is in the read model (the target of update-with-start)."""
        await workflow.wait_condition(lambda: self.state.initialized)
        return self.view()

    @workflow.query
    def view(self) -> TransitionView:
        return self.transition_view()

    @workflow.query
    def waiting_day_count(self) -> int:
        return self.state.waiting_days
