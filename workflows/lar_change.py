"""LarPlanChangeWorkflow: a change in a LAR patient's treatment, made with the municipality.

Phase 1: the LAR consultant proposes (dose, utleveringssted, pick-up regime, take-home doses)
with an effective date. The municipality's LAR contact is consulted: acknowledge, then agree
or object with a comment; the patient's view is recorded. Not acknowledged by the start of the
working day before the effective date: escalates. The change takes effect only once the
municipality has agreed, or after an audited override by a LAR physician with a reason. An
objection stops it (rule 10, the origin unit is told): nothing changes until the physician
overrides, or the proposal is withdrawn, or revised (the municipality is consulted again on
the new proposal, with a new deadline).
Phase 2: from the effective date, the dispensing site confirms it has implemented the change.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tasks as task_rules
    from domain.discharge import start_of_day
    from domain.escalation import Recipient
    from domain.lar import (
        AGREED,
        OBJECTED,
        AnswerConsultation,
        LarChangeStart,
        LarChangeState,
        answer_deadline,
        consultation,
    )
    from domain.notifications import NotificationReason
    from domain.tasks import Task, TaskKind
    from domain.timeline import EventKind
    from domain.transition import TransitionCore, TransitionKind, TransitionRecord, TransitionStatus
    from workflows.answer_deadline import AnswerDeadlineWatcher
    from workflows.lar_commands import LarSideCommands
    from workflows.task_board import TaskBoard, refuse
    from workflows.timers import wait_until
    from workflows.transition import TransitionView
    from workflows.versions import LAR_OBJECTION_HOLDS


class LarChangeInput(BaseModel):
    start: LarChangeStart
    state: LarChangeState | None = None  # set when continuing as new


class LarChangeOutcome(BaseModel):
    transition_id: str
    status: TransitionStatus
    answer: str | None
    effective: bool


def workflow_id_for(transition_id: str) -> str:
    return f"lar-change-{transition_id}"


@workflow.defn
class LarPlanChangeWorkflow(LarSideCommands):
    @workflow.init
    def __init__(self, input: LarChangeInput) -> None:
        start = input.start
        self.state = input.state or LarChangeState(
            start=start,
            core=TransitionCore(
                transition_id=start.transition_id,
                kind=TransitionKind.LAR_CHANGE,
                municipality_number=start.municipality_number,
                origin_unit_id=start.origin_unit_id,
            ),
        )
        self.board = TaskBoard(self.state.core)
        self.answer_deadline = AnswerDeadlineWatcher(self.state, self.board)

    @workflow.run
    async def run(self, input: LarChangeInput) -> LarChangeOutcome:
        if self.state.initialized:
            self.board.resume()
            await self.board.sync()
            self.answer_deadline.watch()
        else:
            await self._begin()
        while self._active() and not self.state.effective:
            await self._next_phase()
        await self._until(
            lambda: not self.state.core.open_tasks() and workflow.all_handlers_finished()
        )
        return await self._close()

    async def _next_phase(self) -> None:
        """Consulting, held by an objection, or waiting for the effective date."""
        answer = self.state.answer
        if answer is None:
            await self._until(lambda: self.state.answer is not None)
        elif answer == OBJECTED and self._objection_holds():
            await self._until(lambda: self.state.answer != OBJECTED)
        else:  # agreed or overridden (and, in runs from before rule 10 was kept, objected)
            await self._take_effect_on_the_date()

    def _objection_holds(self) -> bool:
        return workflow.patched(LAR_OBJECTION_HOLDS)

    async def _until(self, condition: Callable[[], bool]) -> None:
        """Wait for `condition` (or cancellation), continuing as new when history grows."""

        def done() -> bool:
            return condition() or not self._active()

        while True:
            await self.until(lambda: done() or self.history_is_long())
            if done():
                return
            await self.continue_as_new_when_idle(
                LarChangeInput(start=self.state.start, state=self.state)
            )

    async def _begin(self) -> None:
        await self.board.register(self._record())
        await self._consult()
        self.state.initialized = True

    async def _consult(self) -> None:
        """Ask the municipality's LAR contact about the current proposal, and watch its
        answer deadline (the first proposal's, or a revision's)."""
        due = answer_deadline(self.state.current_effective_date, self.state.start.answer_hours)
        await self.board.open_task(
            TaskKind.LAR_CONSULTATION, self.state.start.lar_contact_unit_id, due_at=due
        )
        self.answer_deadline.watch()

    def _record(self) -> TransitionRecord:
        start = self.state.start
        return TransitionRecord(
            id=start.transition_id,
            kind=TransitionKind.LAR_CHANGE,
            workflow_id=workflow.info().workflow_id,
            patient_id=start.patient_id,
            municipality_number=start.municipality_number,
            origin_unit_id=start.origin_unit_id,
            started_by=start.proposed_by,
            what_matters=start.what_matters,
            started_at=workflow.now(),
            details={
                "proposal": start.proposal.model_dump(),
                "effective_date": start.effective_date.isoformat(),
                "lar_contact_unit_id": start.lar_contact_unit_id,
                "dispensing_unit_id": start.dispensing_unit_id,
            },
        )

    async def _close(self) -> LarChangeOutcome:
        core = self.state.core
        if core.status is TransitionStatus.ACTIVE:
            core.status = TransitionStatus.COMPLETED
            core.revision += 1
            core.record(workflow.now(), EventKind.TRANSITION_COMPLETED)
        await self.board.sync()
        await self.settle()
        return LarChangeOutcome(
            transition_id=core.transition_id,
            status=core.status,
            answer=self.state.answer,
            effective=self.state.effective,
        )

    # --- taking effect ----------------------------------------------------------------------

    async def _take_effect_on_the_date(self) -> None:
        revisions = self.state.revisions
        effective_at = start_of_day(self.state.current_effective_date)
        await wait_until(effective_at, lambda: not self._active() or self._revised(revisions))
        if not self._active() or self._revised(revisions):
            return
        self.state.effective = True
        self.state.core.record(
            workflow.now(), EventKind.LAR_CHANGE_EFFECTIVE, answer=self.state.answer or ""
        )
        await self.board.open_task(TaskKind.LAR_IMPLEMENTATION, self.state.start.dispensing_unit_id)

    def _revised(self, since: int) -> bool:
        return self.state.revisions != since

    # --- the municipality's answer ------------------------------------------------------------

    @workflow.update
    async def answer(self, command: AnswerConsultation) -> Task:
        task = self._answered(command)
        self.state.answer = AGREED if command.agree else OBJECTED
        task = await self.board.commit(
            task,
            EventKind.LAR_ANSWERED,
            command.actor.person_id,
            answer=self.state.answer,
            comment=command.comment,
        )
        if not command.agree and self._objection_holds():
            await self._tell_origin_of_the_objection(task)
        return task

    @answer.validator
    def _validate_answer(self, command: AnswerConsultation) -> None:
        self._answered(command)

    def _answered(self, command: AnswerConsultation) -> Task:
        task = consultation(self.state.core.tasks)
        if task is None or not task.is_open:
            raise refuse(f"the consultation is closed (answer: {self.state.answer})")
        business = AGREED if command.agree else OBJECTED
        return self.board.check(
            lambda: task_rules.close_by_owner(
                task, command.actor, workflow.now(), business, command.comment
            )
        )

    async def _tell_origin_of_the_objection(self, task: Task) -> None:
        """The LAR consultant's unit hears of the objection (it must decide what next)."""
        as_origin = task.model_copy(update={"owner_unit_id": self.state.core.origin_unit_id})
        await self.board.notify(
            as_origin,
            NotificationReason.LAR_OBJECTION,
            0,
            (Recipient.OWNER_UNIT,),
            self.state.revisions,
        )

    @workflow.update
    async def started(self) -> TransitionView:
        """Answers once the consultation is in the read model (target of update-with-start)."""
        await workflow.wait_condition(lambda: self.state.initialized)
        return self.transition_view()

    @workflow.query
    def view(self) -> TransitionView:
        return self.transition_view()
