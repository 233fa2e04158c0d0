"""DischargeWorkflow: utskrivning fra DPS/TSB til kommunen, as a durable workflow.

Started by a discharge coordinator (through update-with-start, so the HTTP caller gets the
first task back once it is in the inbox). The municipality's receiving unit must acknowledge
(kvittere), then accept or reject the intake; an unacknowledged step escalates by its policy.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from domain.commands import RejectTask
    from domain.discharge import DischargeStart, DischargeState
    from domain.tasks import Task, TaskKind
    from domain.timeline import EventKind
    from domain.transition import (
        TransitionCore,
        TransitionKind,
        TransitionRecord,
        TransitionStatus,
    )
    from workflows import search_attributes as sa
    from workflows.task_board import ACTIVITY_RETRY, TaskBoard
    from workflows.transition import TransitionWorkflow


class DischargeInput(BaseModel):
    start: DischargeStart
    started_by: str
    state: DischargeState | None = None  # set when continuing as new


class TransitionView(BaseModel):
    """What the caller of a command or a start sees back."""

    transition_id: str
    status: TransitionStatus
    tasks: list[Task]


class DischargeOutcome(BaseModel):
    transition_id: str
    status: TransitionStatus


def workflow_id_for(transition_id: str) -> str:
    return f"discharge-{transition_id}"


@workflow.defn
class DischargeWorkflow(TransitionWorkflow):
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

    @workflow.run
    async def run(self, input: DischargeInput) -> DischargeOutcome:
        if self.state.initialized:
            self.board.resume()
        else:
            await self._begin(input.started_by)
        await workflow.wait_condition(self._finished)
        await self._close()
        return DischargeOutcome(
            transition_id=self.state.core.transition_id, status=self.state.core.status
        )

    async def _begin(self, started_by: str) -> None:
        start = self.state.start
        workflow.upsert_search_attributes(
            [
                sa.TRANSITION_KIND.value_set(TransitionKind.DISCHARGE.value),
                sa.MUNICIPALITY_NUMBER.value_set(start.municipality_number),
                sa.ORIGIN_UNIT.value_set(start.origin_unit_id),
            ]
        )
        await workflow.execute_activity_method(
            ReadModelActivities.register_transition,
            self._record(started_by),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=ACTIVITY_RETRY,
        )
        self.state.core.record(workflow.now(), EventKind.TRANSITION_STARTED, actor_id=started_by)
        await self.board.open_task(TaskKind.MUNICIPAL_INTAKE, start.intake_unit_id)
        self.state.initialized = True

    def _record(self, started_by: str) -> TransitionRecord:
        start = self.state.start
        return TransitionRecord(
            id=start.transition_id,
            kind=TransitionKind.DISCHARGE,
            workflow_id=workflow.info().workflow_id,
            patient_id=start.patient_id,
            municipality_number=start.municipality_number,
            origin_unit_id=start.origin_unit_id,
            started_by=started_by,
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
        return self.state.initialized and not core.open_tasks()

    async def _close(self) -> None:
        core = self.state.core
        if core.status is TransitionStatus.ACTIVE:
            core.status = TransitionStatus.COMPLETED
            core.revision += 1
            core.record(workflow.now(), EventKind.TRANSITION_COMPLETED)
        await self.board.sync()
        await workflow.wait_condition(workflow.all_handlers_finished)

    # --- queries and updates of the discharge itself ------------------------------------------

    @workflow.update
    async def started(self) -> TransitionView:
        """Answers once the first tasks are in the read model (the target of update-with-start)."""
        await workflow.wait_condition(lambda: self.state.initialized)
        return self.view()

    @workflow.query
    def view(self) -> TransitionView:
        core = self.state.core
        return TransitionView(
            transition_id=core.transition_id,
            status=core.status,
            tasks=sorted(core.tasks.values(), key=lambda t: t.created_at),
        )

    def validate_forward(self, command: RejectTask) -> None:
        if command.forward_to_unit_id == self.board.task(command.task_id).owner_unit_id:
            from workflows.task_board import refuse

            raise refuse("cannot forward a task to the unit that owns it")
