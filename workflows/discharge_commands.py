"""The discharge's own commands (Updates): the meeting held, the coordinator named,
utskrivningsklar, discharged, the first contact after discharge, and a moved date.

Validators refuse before anything reaches the history; a date something happened on
(a meeting, a first contact) cannot be after today in Norway by the workflow's own clock.
"""

from __future__ import annotations

from datetime import date

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tasks as task_rules
    from domain.calendar import norwegian_date
    from domain.discharge import (
        ACCEPTED_INTAKE,
        ChangeDischargeDate,
        DischargeState,
        MarkDischarged,
        MarkReady,
        NameCoordinator,
        RecordFirstContact,
        RecordMeeting,
        future_date_refusal,
        handover_due,
        start_of_day,
        task_of_kind,
    )
    from domain.handover import MoveDeadline
    from domain.notifications import NotificationReason
    from domain.tasks import Task, TaskKind, TaskStatus
    from domain.timeline import EventKind
    from domain.transition import TransitionStatus
    from workflows.follow_up import FollowUpWatcher
    from workflows.handover import HandoverWorkflow
    from workflows.handover_starter import HandoverStarter
    from workflows.task_board import refuse
    from workflows.transition import TransitionView, TransitionWorkflow
    from workflows.waiting_day_counter import WaitingDayCounter


def refuse_future(field: str, day: date) -> None:
    refusal = future_date_refusal(field, day, workflow.now())
    if refusal is not None:
        raise refuse(refusal)


class DischargeCommands(TransitionWorkflow):
    state: DischargeState
    handovers: HandoverStarter
    waiting_day_counter: WaitingDayCounter
    follow_up: FollowUpWatcher

    def _require_origin(self, actor_unit_ids: frozenset[str], command: str) -> None:
        core = self.state.core
        if core.status is not TransitionStatus.ACTIVE:
            raise refuse(f"cannot {command}: the transition is {core.status.value}")
        if core.origin_unit_id not in actor_unit_ids:
            raise refuse(f"only unit {core.origin_unit_id}, which discharges the patient, may")

    # --- the cooperation meeting and the coordinator -------------------------------------------

    @workflow.update
    async def record_meeting(self, command: RecordMeeting) -> Task:
        task = self._meeting_held(command)
        return await self.board.commit(
            task,
            EventKind.MEETING_RECORDED,
            command.actor.person_id,
            held_on=command.held_on.isoformat(),
            participants=", ".join(command.participants),
        )

    @record_meeting.validator
    def _validate_record_meeting(self, command: RecordMeeting) -> None:
        refuse_future("held_on", command.held_on)
        self._meeting_held(command)

    def _meeting_held(self, command: RecordMeeting) -> Task:
        task = task_of_kind(self.state.core.tasks, TaskKind.COOPERATION_MEETING)
        if task is None:
            raise refuse(
                "no cooperation meeting step is open: it opens when the intake is accepted"
            )
        note = f"{command.held_on.isoformat()}: {', '.join(command.participants)}"
        if command.note:
            note += f". {command.note}"
        return self.board.check(
            lambda: task_rules.close_by_owner(task, command.actor, workflow.now(), "held", note)
        )

    @workflow.update
    async def name_coordinator(self, command: NameCoordinator) -> Task:
        task = self._coordinator_named(command)
        return await self.board.commit(
            task,
            EventKind.COORDINATOR_NAMED,
            command.actor.person_id,
            coordinator=command.coordinator_name,
            individual_plan=str(command.individual_plan).lower(),
        )

    @name_coordinator.validator
    def _validate_name_coordinator(self, command: NameCoordinator) -> None:
        self._coordinator_named(command)

    def _coordinator_named(self, command: NameCoordinator) -> Task:
        task = task_of_kind(self.state.core.tasks, TaskKind.COORDINATOR)
        if task is None:
            raise refuse("no coordinator step is open: it opens when the intake is accepted")
        plan = "with individual plan" if command.individual_plan else "no individual plan"
        note = f"koordinator: {command.coordinator_name} ({plan})"
        return self.board.check(
            lambda: task_rules.close_by_owner(task, command.actor, workflow.now(), "named", note)
        )

    # --- utskrivningsklar and discharged --------------------------------------------------------

    @workflow.update
    async def mark_ready(self, command: MarkReady) -> TransitionView:
        core = self.state.core
        core.ready_at = workflow.now()
        core.revision += 1
        core.record(workflow.now(), EventKind.READY_FOR_DISCHARGE, actor_id=command.actor.person_id)
        self.waiting_day_counter.start()
        await self.board.sync()
        return self.transition_view()

    @mark_ready.validator
    def _validate_mark_ready(self, command: MarkReady) -> None:
        self._require_origin(command.actor.unit_ids, "declare the patient ready")
        if self.state.core.ready_at is not None:
            raise refuse(
                f"the patient was declared ready at {self.state.core.ready_at:%Y-%m-%d %H:%M} UTC"
            )
        if self.state.core.discharged_at is not None:
            raise refuse("the patient is already discharged")

    @workflow.update
    async def mark_discharged(self, command: MarkDischarged) -> TransitionView:
        core = self.state.core
        core.discharged_at = workflow.now()
        core.revision += 1
        core.record(
            workflow.now(),
            EventKind.DISCHARGED,
            actor_id=command.actor.person_id,
            planned=str(command.planned).lower(),
        )
        self._cancel_unheld_meeting()
        self._complete_accepted_intake()
        if self.state.start.needs.municipal_follow_up:
            await self._open_follow_up()
        await self.board.sync()
        return self.transition_view()

    @mark_discharged.validator
    def _validate_mark_discharged(self, command: MarkDischarged) -> None:
        self._require_origin(command.actor.unit_ids, "record the discharge")
        if self.state.core.discharged_at is not None:
            raise refuse("the patient is already discharged")

    def _cancel_unheld_meeting(self) -> None:
        meeting = task_of_kind(self.state.core.tasks, TaskKind.COOPERATION_MEETING)
        if meeting is not None:
            reason = "the patient was discharged before a meeting was recorded"
            self.state.core.put_task(task_rules.cancel(meeting, workflow.now(), reason))
            self.state.core.record(
                workflow.now(), EventKind.TASK_CANCELLED, task_id=meeting.id, reason=reason
            )

    def _complete_accepted_intake(self) -> None:
        """The municipality has received the patient: its accepted intake step is done."""
        for task in self.state.core.open_tasks():
            if task.kind is TaskKind.MUNICIPAL_INTAKE and task.status in ACCEPTED_INTAKE:
                done = task.model_copy(
                    update={
                        "status": TaskStatus.COMPLETED,
                        "business_status": "patient received",
                        "completed_at": workflow.now(),
                    }
                )
                self.state.core.put_task(done)
                self.state.core.record(workflow.now(), EventKind.TASK_COMPLETED, task_id=task.id)

    async def _open_follow_up(self) -> None:
        due = workflow.now() + self.state.start.timing.follow_up_within
        task = await self.board.open_task(
            TaskKind.FOLLOW_UP, self.state.start.intake_unit_id, due_at=due
        )
        self.follow_up.watch(task.id)

    # --- after discharge: the first contact ----------------------------------------------------

    @workflow.update
    async def record_first_contact(self, command: RecordFirstContact) -> Task:
        task = self._first_contact(command)
        return await self.board.commit(
            task,
            EventKind.FOLLOW_UP_RECORDED,
            command.actor.person_id,
            contacted_on=command.contacted_on.isoformat(),
        )

    @record_first_contact.validator
    def _validate_record_first_contact(self, command: RecordFirstContact) -> None:
        refuse_future("contacted_on", command.contacted_on)
        self._first_contact(command)

    def _first_contact(self, command: RecordFirstContact) -> Task:
        task = task_of_kind(self.state.core.tasks, TaskKind.FOLLOW_UP)
        if task is None:
            raise refuse("no follow-up step is open: it opens when the patient is discharged")
        note = f"first contact {command.contacted_on.isoformat()}"
        if command.note:
            note += f": {command.note}"
        return self.board.check(
            lambda: task_rules.close_by_owner(
                task, command.actor, workflow.now(), "contacted", note
            )
        )

    # --- a moved discharge date -------------------------------------------------------------------

    @workflow.update
    async def change_discharge_date(self, command: ChangeDischargeDate) -> TransitionView:
        core = self.state.core
        old = self.state.expected_date
        core.expected_discharge_date = command.expected_discharge_date
        core.revision += 1
        self.state.date_version += 1
        core.record(
            workflow.now(),
            EventKind.DISCHARGE_DATE_CHANGED,
            actor_id=command.actor.person_id,
            old=old.isoformat(),
            new=command.expected_discharge_date.isoformat(),
            reason=command.reason or "",
        )
        self._move_meeting_deadline()
        await self.board.sync()
        due = MoveDeadline(due_at=handover_due(command.expected_discharge_date))
        await self.handovers.signal_running(HandoverWorkflow.move_deadline, due)
        await self._notify_date_change()
        return self.transition_view()

    @change_discharge_date.validator
    def _validate_change_discharge_date(self, command: ChangeDischargeDate) -> None:
        self._require_origin(command.actor.unit_ids, "change the discharge date")
        if self.state.core.discharged_at is not None:
            raise refuse("the patient is already discharged")
        if command.expected_discharge_date == self.state.expected_date:
            raise refuse(f"the expected discharge date is already {self.state.expected_date}")
        if command.expected_discharge_date < norwegian_date(workflow.now()):
            raise refuse(
                f"expected_discharge_date {command.expected_discharge_date} is in the past"
            )

    def _move_meeting_deadline(self) -> None:
        meeting = task_of_kind(self.state.core.tasks, TaskKind.COOPERATION_MEETING)
        if meeting is not None:
            self.board.move_deadline(meeting, start_of_day(self.state.expected_date))

    async def _notify_date_change(self) -> None:
        """Everyone with an open step hears of the new date (domain.md: notify on change)."""
        for task in self.state.core.open_tasks():
            recipients = task.policy.levels[0].notify
            await self.board.notify(
                task, NotificationReason.DATE_CHANGED, 0, recipients, self.state.date_version
            )
