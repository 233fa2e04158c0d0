"""The LAR side's commands on a change (Updates): the physician's override (with a reason,
also after an objection), withdrawing or revising the proposal, and the patient's own view."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tasks as task_rules
    from domain.actors import Actor, Role
    from domain.calendar import norwegian_date
    from domain.lar import (
        OBJECTED,
        OVERRIDDEN,
        WITHDRAWN,
        LarChangeState,
        OverrideConsultation,
        RecordPatientView,
        ReviseProposal,
        WithdrawProposal,
        consultation,
        proposer_refusal,
    )
    from domain.timeline import EventKind
    from domain.transition import TransitionStatus
    from workflows.task_board import refuse
    from workflows.transition import TransitionView, TransitionWorkflow


class LarSideCommands(TransitionWorkflow):
    state: LarChangeState

    async def _consult(self) -> None:
        """Ask the municipality's LAR contact about the current proposal (the workflow's)."""
        raise NotImplementedError

    def _active(self) -> bool:
        return self.state.core.status is TransitionStatus.ACTIVE

    # --- the LAR side: override, withdraw, revise ---------------------------------------------

    @workflow.update
    async def override(self, command: OverrideConsultation) -> TransitionView:
        task = consultation(self.state.core.tasks)
        if task is None:  # the validator has checked; keeps the type checker informed
            raise refuse("no consultation to override")
        if task.is_open:
            reason = f"overridden by LAR physician {command.actor.person_id}: {command.reason}"
            self.state.core.put_task(task_rules.cancel(task, workflow.now(), reason))
        self.state.answer = OVERRIDDEN
        self.state.core.record(
            workflow.now(),
            EventKind.OVERRIDE,
            task_id=task.id,
            actor_id=command.actor.person_id,
            reason=command.reason,
            role=Role.LAR_PHYSICIAN.value,
        )
        await self.board.sync()
        return self.transition_view()

    @override.validator
    def _validate_override(self, command: OverrideConsultation) -> None:
        if not command.actor.has_role(Role.LAR_PHYSICIAN):
            raise refuse("only a LAR physician (lar_physician) may override the consultation")
        if not command.actor.acts_for(self.state.core.origin_unit_id):
            raise refuse(f"only a physician of unit {self.state.core.origin_unit_id} may override")
        task = consultation(self.state.core.tasks)
        consulting = task is not None and task.is_open
        if not (consulting or self.state.answer == OBJECTED) or self.state.effective:
            raise refuse(f"the consultation is closed (answer: {self.state.answer})")

    @workflow.update
    async def withdraw(self, command: WithdrawProposal) -> TransitionView:
        self.state.answer = WITHDRAWN
        self.state.core.record(
            workflow.now(),
            EventKind.LAR_WITHDRAWN,
            actor_id=command.actor.person_id,
            reason=command.reason,
        )
        await self.cancel_transition(f"withdrawn: {command.reason}", command.actor.person_id)
        return self.transition_view()

    @withdraw.validator
    def _validate_withdraw(self, command: WithdrawProposal) -> None:
        self._require_proposer(command.actor)

    @workflow.update
    async def revise(self, command: ReviseProposal) -> TransitionView:
        self._replace_proposal(command)
        await self._consult()
        return self.transition_view()

    @revise.validator
    def _validate_revise(self, command: ReviseProposal) -> None:
        self._require_proposer(command.actor)
        if command.effective_date < norwegian_date(workflow.now()):
            raise refuse(f"effective_date {command.effective_date} is in the past")

    def _replace_proposal(self, command: ReviseProposal) -> None:
        state, now = self.state, workflow.now()
        open_consultation = consultation(state.core.tasks)
        if open_consultation is not None and open_consultation.is_open:
            revised = task_rules.cancel(open_consultation, now, "the proposal was revised")
            state.core.put_task(revised)
        state.proposal, state.effective_date = command.proposal, command.effective_date
        state.revisions += 1
        state.answer, state.answer_deadline_missed = None, False
        state.core.record(
            now,
            EventKind.LAR_REVISED,
            actor_id=command.actor.person_id,
            revision=str(state.revisions),
            effective_date=command.effective_date.isoformat(),
            **{k: str(v) for k, v in command.proposal.model_dump().items()},
        )

    def _require_proposer(self, actor: Actor) -> None:
        refusal = proposer_refusal(actor, self.state.core.origin_unit_id)
        if refusal is not None:
            raise refuse(refusal)
        if not self._active() or self.state.effective:
            status = "in effect" if self.state.effective else self.state.core.status.value
            raise refuse(f"the change is already {status}")

    # --- the patient's view ---------------------------------------------------------------

    @workflow.update
    async def record_patient_view(self, command: RecordPatientView) -> TransitionView:
        self.state.patient_view = command.view
        self.state.core.record(
            workflow.now(),
            EventKind.PATIENT_VIEW_RECORDED,
            actor_id=command.actor.person_id,
            view=command.view,
        )
        await self.board.sync()
        return self.transition_view()

    @record_patient_view.validator
    def _validate_patient_view(self, command: RecordPatientView) -> None:
        if not self._active():
            raise refuse(f"the change is {self.state.core.status.value}")
        if not command.actor.acts_for(self.state.core.origin_unit_id):
            raise refuse(f"only unit {self.state.core.origin_unit_id} records the patient's view")
