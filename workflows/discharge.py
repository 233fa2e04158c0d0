"""DischargeWorkflow: utskrivning fra DPS/TSB til kommunen, as a durable workflow.

Started by a discharge coordinator (through update-with-start, so the HTTP caller gets the
first task back once it is in the inbox). Steps, each a task with an owner, a deadline and
escalation: municipal intake (kvittere, then accept or reject); once accepted, the
cooperation meeting (the DPS calls it) and, when needed, the coordinator/IP step; housing and
NAV as child HandoverWorkflows (only if needed and consented); LAR informed; after
utskrivningsklar a durable daily count of overliggedøgn; after discharge the follow-up step
(first contact within the agreed window, default 7 days). The transition completes when the
patient is discharged and every step and child is completed or cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pydantic import BaseModel
from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain import tasks as task_rules
    from domain import waiting_days
    from domain.commands import RejectTask
    from domain.discharge import (
        ACCEPTED_INTAKE,
        OSLO,
        ChangeDischargeDate,
        DischargeStart,
        DischargeState,
        HandoverLink,
        HandoverStatus,
        MarkDischarged,
        MarkReady,
        NameCoordinator,
        RecordFirstContact,
        RecordMeeting,
        handover_due,
        handover_starts_at,
        handovers_wanted,
        municipality_ready,
        start_of_day,
        task_of_kind,
    )
    from domain.handover import CancelFromParent, HandoverResult, HandoverStart, MoveDeadline
    from domain.notifications import NotificationReason
    from domain.tasks import Task, TaskKind, TaskStatus
    from domain.timeline import EventKind
    from domain.transition import (
        TransitionCore,
        TransitionKind,
        TransitionRecord,
        TransitionStatus,
    )
    from workflows.handover import HandoverInput, HandoverWorkflow
    from workflows.handover import workflow_id_for as handover_workflow_id
    from workflows.task_board import TaskBoard, refuse
    from workflows.transition import TransitionView, TransitionWorkflow, wait_until

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
        self.started_by = input.started_by
        self._background: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, input: DischargeInput) -> DischargeOutcome:
        if self.state.initialized:
            await self._resume()
        else:
            await self._begin()
        await workflow.wait_condition(
            lambda: self._finished() or workflow.info().is_continue_as_new_suggested()
        )
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
        await self._plan_handovers()

    async def _resume(self) -> None:
        """After continue-as-new: restart every timer the previous run was waiting on."""
        self.board.resume()
        await self.board.sync()
        for link in self.state.handovers.values():
            if link.status is HandoverStatus.WAITING:
                self._spawn(self._start_handover_when_due(TaskKind(link.kind)))
        core = self.state.core
        if core.ready_at and not core.discharged_at and not self.state.municipality_ready_at:
            self._spawn(self._count_waiting_days())
        follow_up = task_of_kind(core.tasks, TaskKind.FOLLOW_UP)
        if follow_up is not None and not self.state.follow_up_missed:
            self._spawn(self._watch_follow_up(follow_up.id))

    def _spawn(self, coroutine: object) -> None:
        # Keep references: the event loop holds tasks weakly.
        self._background.append(asyncio.create_task(coroutine))  # type: ignore[arg-type]

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
        await workflow.wait_condition(workflow.all_handlers_finished)

    # --- housing and NAV as child workflows ---------------------------------------------------

    async def _plan_handovers(self) -> None:
        send, withheld = handovers_wanted(self.state.start)
        for kind in withheld:
            self.state.core.record(
                workflow.now(),
                EventKind.HANDOVER_NOT_SENT,
                handover_kind=kind.value,
                reason="needed, but the patient has not consented to share with this office",
            )
        for kind in send:
            unit = self._handover_unit(kind)
            if unit is None:
                self.state.core.record(
                    workflow.now(),
                    EventKind.HANDOVER_NOT_SENT,
                    handover_kind=kind.value,
                    reason="the municipality has no such office in the directory",
                )
                continue
            transition_id = str(workflow.uuid4())
            self.state.handovers[kind.value] = HandoverLink(
                kind=kind,
                workflow_id=handover_workflow_id(transition_id),
                transition_id=transition_id,
                owner_unit_id=unit,
            )
            self._spawn(self._start_handover_when_due(kind))
        await self.board.sync()

    def _handover_unit(self, kind: TaskKind) -> str | None:
        start = self.state.start
        return start.housing_unit_id if kind is TaskKind.HOUSING else start.nav_unit_id

    async def _start_handover_when_due(self, kind: TaskKind) -> None:
        """Housing starts housing_lead before the (movable) discharge date; NAV at once."""
        while True:
            version = self.state.date_version
            at = handover_starts_at(kind, self.state.expected_date, self.state.start.timing)
            if at > workflow.now():
                self.state.core.record(
                    workflow.now(),
                    EventKind.HANDOVER_SCHEDULED,
                    handover_kind=kind.value,
                    starts_at=at.isoformat(),
                )
                await self.board.sync()
            await wait_until(at, self._date_moved_or_stopped(version))
            if self._stopped():
                self.state.handovers[kind.value].status = HandoverStatus.CANCELLED
                return
            if self.state.date_version == version or at <= workflow.now():
                await self._start_handover(self.state.handovers[kind.value])
                return

    def _date_moved_or_stopped(self, version: int) -> Callable[[], bool]:
        return lambda: self.state.date_version != version or self._stopped()

    def _stopped(self) -> bool:
        core = self.state.core
        return core.status is not TransitionStatus.ACTIVE or core.discharged_at is not None

    async def _start_handover(self, link: HandoverLink) -> None:
        start = self.state.start
        child = HandoverStart(
            transition_id=link.transition_id,
            kind=link.kind,
            patient_id=start.patient_id,
            municipality_number=start.municipality_number,
            origin_unit_id=start.origin_unit_id,
            owner_unit_id=link.owner_unit_id,
            started_by=self.started_by,
            what_matters=start.what_matters,
            purpose=f"{link.kind.value} in place before discharge",
            due_at=handover_due(self.state.expected_date),
            parent_transition_id=start.transition_id,
            parent_workflow_id=workflow.info().workflow_id,
            consents=start.consents.model_dump(),
        )
        # ABANDON: the child outlives a continue-as-new of this run and reports by signal.
        await workflow.start_child_workflow(
            HandoverWorkflow.run,
            HandoverInput(start=child),
            id=link.workflow_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        link.status = HandoverStatus.RUNNING
        self.state.core.record(
            workflow.now(),
            EventKind.HANDOVER_STARTED,
            handover_kind=link.kind.value,
            handover_transition_id=link.transition_id,
            owner_unit_id=link.owner_unit_id,
        )
        await self.board.sync()

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

    async def _signal_running_handovers(self, signal: str, arg: BaseModel) -> None:
        for link in self.state.handovers.values():
            if link.status is HandoverStatus.RUNNING:
                await workflow.get_external_workflow_handle(link.workflow_id).signal(signal, arg)

    # --- steps opened by commands ----------------------------------------------------------------

    async def after_command(self, task: Task) -> None:
        if task.kind is TaskKind.LAR_INFORMED and task.status is TaskStatus.RECEIVED:
            # Informing the LAR contact is done when they have acknowledged (kvittert).
            done = task.model_copy(
                update={"status": TaskStatus.COMPLETED, "completed_at": workflow.now()}
            )
            await self.board.commit(done, EventKind.TASK_COMPLETED, task.acknowledged_by or "")
        if task.kind is TaskKind.MUNICIPAL_INTAKE and task.status is TaskStatus.ACCEPTED:
            await self._open_planning_steps()
        self._note_readiness()
        await self.board.sync()

    async def _open_planning_steps(self) -> None:
        """Once the municipality will receive the patient: the meeting, and the coordinator."""
        kinds = {t.kind for t in self.state.core.tasks.values()}
        start = self.state.start
        if TaskKind.COOPERATION_MEETING not in kinds:
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

    # --- the discharge's own commands -------------------------------------------------------------

    def _require_origin(self, actor_unit_ids: frozenset[str], command: str) -> None:
        core = self.state.core
        if core.status is not TransitionStatus.ACTIVE:
            raise refuse(f"cannot {command}: the transition is {core.status.value}")
        if core.origin_unit_id not in actor_unit_ids:
            raise refuse(f"only unit {core.origin_unit_id}, which discharges the patient, may")

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

    @workflow.update
    async def mark_ready(self, command: MarkReady) -> TransitionView:
        core = self.state.core
        core.ready_at = workflow.now()
        core.revision += 1
        core.record(workflow.now(), EventKind.READY_FOR_DISCHARGE, actor_id=command.actor.person_id)
        self._spawn(self._count_waiting_days())
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

    async def _count_waiting_days(self) -> None:
        """Overliggedøgn: a durable timer per day (see domain.waiting_days for the rule)."""
        core = self.state.core
        assert core.ready_at is not None
        length = self.state.start.timing.waiting_day
        while True:
            day = self.state.waiting_days + 1
            begins = waiting_days.day_begins(core.ready_at, day, length)
            await wait_until(begins, self._stop_counting)
            if self._stop_counting():
                return
            self.state.waiting_days = day
            called = any(t.kind is TaskKind.COOPERATION_MEETING for t in core.tasks.values())
            core.record(
                workflow.now(),
                EventKind.WAITING_DAY,
                day=str(day),
                began_at=begins.isoformat(),
                rate_nok=str(waiting_days.daily_rate(begins.astimezone(OSLO).year)),
                meeting_called=str(called).lower(),
            )
            await self.board.sync()

    def _stop_counting(self) -> bool:
        return not waiting_days.counts(
            discharged=self.state.core.discharged_at is not None,
            municipality_ready=self.state.municipality_ready_at is not None,
            stopped=self.state.core.status is not TransitionStatus.ACTIVE,
        )

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
        self._spawn(self._watch_follow_up(task.id))

    async def _watch_follow_up(self, task_id: str) -> None:
        """No first contact within the window escalates, acknowledged or not (the national
        quality indicator is the contact, not the receipt)."""
        due = self.state.core.tasks[task_id].due_at
        if due > workflow.now():
            try:
                await workflow.wait_condition(
                    lambda: not self.state.core.tasks[task_id].is_open, timeout=due - workflow.now()
                )
                return
            except TimeoutError:
                pass
        task = self.state.core.tasks[task_id]
        if not task.is_open:
            return
        await self._escalate_missed_follow_up(task)

    async def _escalate_missed_follow_up(self, task: Task) -> None:
        top = len(task.policy.levels) - 1
        task = self.state.core.put_task(task_rules.escalate_to(task, top, workflow.now()))
        self.state.follow_up_missed = True
        window = self.state.start.timing.follow_up_within
        self.state.core.record(
            workflow.now(), EventKind.FOLLOW_UP_MISSED, task_id=task.id, within=str(window)
        )
        self.state.core.record(
            workflow.now(),
            EventKind.ESCALATED,
            task_id=task.id,
            level=str(top),
            reason="no first contact recorded within the follow-up window",
        )
        await self.board.sync()
        level = task.policy.levels[top]
        await self.board.notify(task, NotificationReason.ESCALATION, top, level.notify, 1)

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
        await self._signal_running_handovers(
            "move_deadline", MoveDeadline(due_at=handover_due(command.expected_discharge_date))
        )
        await self._notify_date_change()
        return self.transition_view()

    @change_discharge_date.validator
    def _validate_change_discharge_date(self, command: ChangeDischargeDate) -> None:
        self._require_origin(command.actor.unit_ids, "change the discharge date")
        if self.state.core.discharged_at is not None:
            raise refuse("the patient is already discharged")
        if command.expected_discharge_date == self.state.expected_date:
            raise refuse(f"the expected discharge date is already {self.state.expected_date}")
        today = workflow.now().astimezone(start_of_day(self.state.expected_date).tzinfo).date()
        if command.expected_discharge_date < today:
            raise refuse(
                f"expected_discharge_date {command.expected_discharge_date} is in the past"
            )

    def _move_meeting_deadline(self) -> None:
        meeting = task_of_kind(self.state.core.tasks, TaskKind.COOPERATION_MEETING)
        if meeting is not None:
            due = start_of_day(self.state.expected_date)
            self.state.core.put_task(meeting.model_copy(update={"due_at": due}))

    async def _notify_date_change(self) -> None:
        """Everyone with an open step hears of the new date (domain.md: notify on change)."""
        for task in self.state.core.open_tasks():
            recipients = task.policy.levels[0].notify
            await self.board.notify(
                task, NotificationReason.DATE_CHANGED, 0, recipients, self.state.date_version
            )

    async def on_cancelled(self, reason: str) -> None:
        for link in self.state.handovers.values():
            if link.status is HandoverStatus.WAITING:
                link.status = HandoverStatus.CANCELLED
        await self._signal_running_handovers(
            "cancel_from_parent",
            CancelFromParent(reason=f"the discharge was cancelled: {reason}"),
        )

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

    def validate_forward(self, command: RejectTask) -> None:
        if command.forward_to_unit_id == self.board.task(command.task_id).owner_unit_id:
            raise refuse("cannot forward a task to the unit that owns it")
