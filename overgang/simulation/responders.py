"""How the owner of each kind of step answers it: acknowledge after a realistic delay (or only
once a leader has been told), then accept, forward, hold the meeting, name a coordinator,
record the first contact, answer a LAR consultation, and so on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.calendar import OSLO
from domain.commands import AcceptTask, AcknowledgeTask, CompleteTask, RejectTask, StartTask
from domain.discharge import NameCoordinator, RecordFirstContact, RecordMeeting
from domain.lar import AnswerConsultation, OverrideConsultation
from domain.transition import CancelTransition
from overgang.simulation.observer import SeenTask
from overgang.simulation.population import (
    CALENDAR,
    LAR_UNIT,
    DischargeCase,
    LarCase,
    after_business_minutes,
    case_rng,
    office_instant,
    response,
)
from workflows.discharge import DischargeWorkflow
from workflows.lar_change import LarPlanChangeWorkflow
from workflows.transition import TransitionWorkflow

if TYPE_CHECKING:
    from overgang.simulation.driver import Driver

# Where a rejected handover is sent on: the housing office says it is NAV's, and back.
FORWARD_TO = {"bolig": "nav", "nav": "bolig"}
DAYS_TO_COMPLETE = {"housing": (5, 40), "nav": (1, 10), "lar_implementation": (1, 3)}


class Responders:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.nth: dict[tuple[str, str], int] = {}
        self.waiting_for_level: dict[str, tuple[int, Callable[[datetime], None]]] = {}
        self.roots: dict[str, str] = {}

    def on_task(self, task: SeenTask) -> None:
        self.roots[task.id] = task.root_id
        handler = getattr(self, f"_on_{task.kind}", None)
        if handler is not None:
            handler(task)

    def on_escalated(self, task_id: str, level: int, at: datetime) -> None:
        """A silent owner answers once the chain has reached their level."""
        waiting = self.waiting_for_level.get(task_id)
        if waiting is not None and level >= waiting[0]:
            del self.waiting_for_level[task_id]
            waiting[1](at)

    # --- the shared pattern: acknowledge, then the kind's next action ----------------------

    def _acknowledge_then(self, task: SeenTask, then: Callable[[SeenTask, datetime], None]) -> None:
        key = (task.root_id, task.kind)
        self.nth[key] = self.nth.get(key, 0) + 1
        answer = response(self.driver.config.seed, task.root_id, task.kind, self.nth[key])

        def acknowledge_at(at: datetime) -> None:
            self._at(at, task, "acknowledge", self._acknowledge(task, answer.then_after_days, then))

        if answer.silent_until_level is not None:
            wait = case_rng(self.driver.config.seed, task.id, "silent").randrange(30, 120)
            self.waiting_for_level[task.id] = (
                answer.silent_until_level,
                lambda at: acknowledge_at(after_business_minutes(at, wait)),
            )
        else:
            acknowledge_at(after_business_minutes(task.created_at, answer.acknowledge_after))

    def _acknowledge(
        self, task: SeenTask, days: int, then: Callable[[SeenTask, datetime], None]
    ) -> Callable[[datetime], Any]:
        async def run(now: datetime) -> None:
            actor = self.driver.people.contact(task.owner_unit_id, now)
            command = AcknowledgeTask(task_id=task.id, actor=actor)
            if await self.driver.commands.send(
                task.workflow_id, TransitionWorkflow.acknowledge, command
            ):
                then(task, self._later(task, now, days))

        return run

    def _later(self, task: SeenTask, now: datetime, days: int) -> datetime:
        rng = case_rng(self.driver.config.seed, task.id, "later", days)
        if days == 0:
            return after_business_minutes(now, rng.randrange(2, 40))
        return office_instant(now.astimezone(OSLO).date() + timedelta(days=days), rng)

    def _at(self, at: datetime, task: SeenTask, label: str, run: Callable[[datetime], Any]) -> None:
        self.driver.schedule(at, f"{task.kind}:{label}", task.root_id, run)

    def _task_command(
        self, task: SeenTask, update: Any, model: type, **extra: Any
    ) -> Callable[[datetime], Any]:
        async def run(now: datetime) -> None:
            actor = self.driver.people.contact(task.owner_unit_id, now)
            await self.driver.commands.send(
                task.workflow_id, update, model(task_id=task.id, actor=actor, **extra)
            )

        return run

    # --- municipal intake ------------------------------------------------------------------

    def _on_municipal_intake(self, task: SeenTask) -> None:
        self._acknowledge_then(task, self._accept)

    def _accept(self, task: SeenTask, at: datetime) -> None:
        self._at(
            at, task, "accept", self._task_command(task, TransitionWorkflow.accept, AcceptTask)
        )

    # --- housing and NAV handovers ------------------------------------------------------------

    def _on_housing(self, task: SeenTask) -> None:
        self._acknowledge_then(task, self._handle_handover)

    def _on_nav(self, task: SeenTask) -> None:
        self._acknowledge_then(task, self._handle_handover)

    def _handle_handover(self, task: SeenTask, at: datetime) -> None:
        suffix = task.owner_unit_id.rsplit("-", 1)[1]
        answer = response(
            self.driver.config.seed, task.root_id, task.kind, self.nth[(task.root_id, task.kind)]
        )
        if answer.forward and task.bounce_count < 2 and suffix in FORWARD_TO:
            target = f"{task.owner_unit_id.rsplit('-', 1)[0]}-{FORWARD_TO[suffix]}"
            if task.bounce_count == 1:
                target = f"{task.owner_unit_id.rsplit('-', 1)[0]}-prt"
            run = self._task_command(
                task,
                TransitionWorkflow.reject,
                RejectTask,
                reason="Dette hører til et annet kontor.",
                forward_to_unit_id=target,
            )
            self._at(at, task, "forward", run)
            return
        self._at(at, task, "accept", self._accept_and_work(task))

    def _accept_and_work(self, task: SeenTask) -> Callable[[datetime], Any]:
        async def run(now: datetime) -> None:
            await self._task_command(task, TransitionWorkflow.accept, AcceptTask)(now)
            # Its own step: one that is deferred runs again whole, and must not accept twice.
            self._at(now, task, "start work", self._work(task))

        return run

    def _work(self, task: SeenTask) -> Callable[[datetime], Any]:
        async def run(now: datetime) -> None:
            await self._task_command(task, TransitionWorkflow.start_work, StartTask)(now)
            low, high = DAYS_TO_COMPLETE.get(task.kind, (1, 5))
            rng = case_rng(self.driver.config.seed, task.id, "complete")
            done = office_instant(
                now.astimezone(OSLO).date() + timedelta(days=rng.randrange(low, high + 1)), rng
            )
            self._at(
                done,
                task,
                "complete",
                self._task_command(task, TransitionWorkflow.complete, CompleteTask, note="Ferdig."),
            )

        return run

    # --- steps that close with one action -----------------------------------------------------

    def _on_lar_informed(self, task: SeenTask) -> None:
        self._acknowledge_then(task, lambda task, at: None)

    def _on_cooperation_meeting(self, task: SeenTask) -> None:
        self._acknowledge_then(task, self._plan_meeting)

    def _plan_meeting(self, task: SeenTask, at: datetime) -> None:
        case = self.driver.cases.get(task.root_id)
        if not isinstance(case, DischargeCase) or not case.meeting_recorded:
            return
        rng = case_rng(self.driver.config.seed, task.id, "meeting")
        day = max(
            case.expected - timedelta(days=rng.randrange(1, 6)),
            task.created_at.astimezone(OSLO).date() + timedelta(days=1),
        )
        self._at(office_instant(day, rng), task, "meeting", self._record_meeting(task))

    def _record_meeting(self, task: SeenTask) -> Callable[[datetime], Any]:
        async def run(now: datetime) -> None:
            actor = self.driver.people.contact(task.owner_unit_id, now)
            command = RecordMeeting(
                actor=actor,
                held_on=now.astimezone(OSLO).date(),
                participants=("pasienten", "DPS", "kommunen"),
            )
            await self.driver.commands.send(
                task.workflow_id, DischargeWorkflow.record_meeting, command
            )

        return run

    def _on_coordinator(self, task: SeenTask) -> None:
        self._acknowledge_then(task, lambda task, at: self._plan_coordinator(task))

    def _plan_coordinator(self, task: SeenTask) -> None:
        rng = case_rng(self.driver.config.seed, task.id, "coordinator")
        day = CALENDAR.add_business_days(
            task.created_at.astimezone(OSLO).date(), rng.randrange(2, 11)
        )

        async def run(now: datetime) -> None:
            actor = self.driver.people.contact(task.owner_unit_id, now)
            command = NameCoordinator(
                actor=actor, coordinator_name="Kari Koordinator", individual_plan=rng.random() < 0.5
            )
            await self.driver.commands.send(
                task.workflow_id, DischargeWorkflow.name_coordinator, command
            )

        self._at(office_instant(day, rng), task, "coordinator", run)

    def _on_follow_up(self, task: SeenTask) -> None:
        self._acknowledge_then(task, lambda task, at: self._plan_first_contact(task))

    def _plan_first_contact(self, task: SeenTask) -> None:
        rng = case_rng(self.driver.config.seed, task.id, "follow-up")
        days = rng.randrange(1, 7) if rng.random() < 0.82 else rng.randrange(8, 15)
        day = task.created_at.astimezone(OSLO).date() + timedelta(days=days)

        async def run(now: datetime) -> None:
            actor = self.driver.people.contact(task.owner_unit_id, now)
            command = RecordFirstContact(actor=actor, contacted_on=now.astimezone(OSLO).date())
            await self.driver.commands.send(
                task.workflow_id, DischargeWorkflow.record_first_contact, command
            )

        self._at(office_instant(day, rng), task, "first-contact", run)

    # --- LAR --------------------------------------------------------------------------------

    def _on_lar_consultation(self, task: SeenTask) -> None:
        self._acknowledge_then(task, self._answer)

    def _answer(self, task: SeenTask, at: datetime) -> None:
        case = self.driver.cases.get(task.root_id)
        if not isinstance(case, LarCase):
            return

        async def run(now: datetime) -> None:
            actor = self.driver.people.contact(task.owner_unit_id, now)
            command = AnswerConsultation(
                actor=actor, agree=not case.objects, comment="Vurdert i teamet."
            )
            answered = await self.driver.commands.send(
                task.workflow_id, LarPlanChangeWorkflow.answer, command
            )
            if answered and case.objects:
                self._after_objection(case, task, now)

        self._at(at, task, "answer", run)

    def _after_objection(self, case: LarCase, task: SeenTask, now: datetime) -> None:
        """The physician overrides with a reason, or the consultant withdraws the proposal."""
        at = after_business_minutes(now, 60 * 8)
        if case.after_objection == "override":
            command: Any = OverrideConsultation(
                actor=self.driver.people.lar_physician(), reason="Medisinsk nødvendig."
            )
            update: Any = LarPlanChangeWorkflow.override
        else:
            actor = self.driver.people.contact(LAR_UNIT, now)
            command = CancelTransition(
                actor=actor, reason="Forslaget trekkes etter kommunens innsigelse."
            )
            update = LarPlanChangeWorkflow.cancel
        case.notes.append(case.after_objection)

        async def run(now: datetime) -> None:
            if await self.driver.commands.send(task.workflow_id, update, command) is None:
                self.driver.findings.append(
                    (task.root_id, f"LAR {case.after_objection} after an objection was refused")
                )

        self._at(at, task, case.after_objection, run)

    def _on_lar_implementation(self, task: SeenTask) -> None:
        self._acknowledge_then(
            task, lambda task, at: self._at(at, task, "accept", self._accept_and_work(task))
        )
