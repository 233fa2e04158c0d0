"""Starting transitions and sending people's commands to the real workflows, as the API
would: a refused command is counted with its reason, never retried blindly."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from domain.calendar import OfficeHours, frozen_from
from domain.discharge import DischargeStart, DischargeTiming
from domain.lar import LarChangeStart, LarProposal
from foundation.observability import transition_id_of
from overgang.simulation.diagnosis import updates_accepted, workflow_state
from overgang.simulation.environment import TASK_QUEUE
from overgang.simulation.population import LAR_UNIT, DischargeCase, LarCase
from overgang.simulation.timer_watch import Timers
from overgang.simulation.watchdog import Watchdog
from workflows.discharge import DischargeInput, DischargeWorkflow
from workflows.discharge import workflow_id_for as discharge_workflow_id
from workflows.lar_change import LarChangeInput, LarPlanChangeWorkflow
from workflows.lar_change import workflow_id_for as lar_workflow_id

PROPOSAL = LarProposal(
    dose="metadon 90 mg",
    dispensing_site="kommunal utdeling",
    pick_up_regime="daglig",
    take_home_doses=2,
    reason="Stabil i tre måneder; ønsker færre oppmøter for å kunne jobbe.",
)


# A command the server answers "not found" or lets time out is sent again, each time with a
# fresh update id. The time-skipping test server holds only updates in flight or accepted:
# an id it dropped (or rejected without our hearing) is "not found" when polled, and every
# update to a closed workflow is "update <id> not found" (temporal-test-server,
# TestWorkflowMutableStateImpl.getUpdate), so what became of it is looked up, not guessed.
UPDATE_ATTEMPTS = 3
# Before a re-send, wait (wall time, briefly) until the workflow has no workflow task running:
# an update handed over while a task runs is the one the test server may drop.
IDLE_CHECKS, IDLE_PAUSE = 20, 0.25
# A command the workflow task wedge could hit (see below) or that was lost on every attempt
# is tried again a little later, as a person would; after that it is given up and named.
# A command's workflow task, and the activities and tasks after it, run while virtual time
# creeps on at wall pace. If a timer of that workflow comes due meanwhile and the command makes
# the workflow cancel it (an acknowledgement stops the escalation timers), the test server
# refuses the completion ("invalid history builder state for action", temporalio/sdk-java
# #2606) after applying the commands before the cancel, so the worker's retry is refused too
# ("Already open activity with <id>"), and the workflow never gets another task (#3088).
# The timer need not be the commanded workflow's own: a handover that ends tells its
# discharge (which may stop counting waiting days), a discharge date that moves moves its
# handovers' deadlines. So no command goes to a workflow whose own, parent's or children's
# timer is due this soon (or due and not yet fired): it waits until just after it has fired.
TIMER_MARGIN = timedelta(minutes=5)
AFTER_THE_TIMER = timedelta(seconds=30)
LOST_TRIES_LATER, TRY_AGAIN_AFTER = 3, timedelta(minutes=15)
ENDED = "the transition had already ended"
LOST_BY_TEST_SERVER = "lost by the time-skipping test server"


@dataclass(frozen=True)
class LostCommand:
    """A command the test server answered "not found" or let time out on every try, its
    workflow open each time and the command not in its history."""

    workflow_id: str
    command: str
    tries: int

    @property
    def transition_id(self) -> str:
        return transition_id_of(self.workflow_id) or self.workflow_id

    def __str__(self) -> str:
        return (
            f"{self.command} to {self.workflow_id} {LOST_BY_TEST_SERVER} "
            f"(not found or timed out on all {self.tries} tries, the workflow open each time)"
        )


class Applied:
    """The command is in the workflow's history although its answer was lost: done."""

    def __bool__(self) -> bool:
        return True


APPLIED = Applied()


class Deferred(Exception):
    """The command must wait: a timer of its workflow is about to fire."""

    def __init__(self, until: datetime, workflow_id: str) -> None:
        super().__init__(f"{workflow_id} has a timer due before {until.isoformat()}")
        self.until = until


class Commands:
    def __init__(
        self,
        client: Client,
        watchdog: Watchdog,
        now: Callable[[], datetime | None],
        family_timers: Callable[[str], Awaitable[Timers]],
    ) -> None:
        self.client = client
        self.watchdog = watchdog
        self.now = now  # virtual time when the driver's last sleep ended
        # Pending timers of a workflow, its parent and children: TimerWatch in a run.
        self.family_timers = family_timers
        self.deferred: Counter[str] = Counter()
        self.deferred_for_relative: Counter[str] = Counter()  # only a parent's or child's timer
        self.lost_rounds: Counter[tuple[str, str]] = Counter()
        self.lost: list[LostCommand] = []
        self.applied_unanswered: Counter[str] = Counter()
        self.refused: Counter[tuple[str, str]] = Counter()
        self.sent: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.answer_seconds: defaultdict[str, float] = defaultdict(
            float
        )  # by update: till answered
        # One command at a time per workflow, as one person's screen would send them: the
        # test server mishandles two updates in flight for one workflow (it can wedge).
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def send(
        self, workflow_id: str, update: Any, argument: BaseModel | None, *, fresh: bool = False
    ) -> Any:
        """Run one Update; None (and the reason counted) when the workflow refuses it. Raises
        Deferred, before sending anything, when a timer of the workflow is about to fire
        (`fresh`: the workflow was just started and has no such timer)."""
        name = getattr(update, "__name__", str(update))
        async with self._locks[workflow_id]:
            if not fresh:
                await self._clear_of_timers(workflow_id, name)
            self.sent[name] += 1
            started = time.monotonic()
            try:
                return await self._send(workflow_id, update, argument, name)
            finally:
                self.answer_seconds[name] += time.monotonic() - started

    async def _clear_of_timers(self, workflow_id: str, name: str) -> None:
        now = self.now()
        if now is None:
            return
        timers = await self.family_timers(workflow_id)  # the worker's own notes: no I/O
        # A timer already due but not yet fired is the likeliest to fire during the command.
        soon = [(owner, due) for owner, due in timers if due <= now + TIMER_MARGIN]
        if soon:
            self.deferred[name] += 1
            if all(owner != workflow_id for owner, _ in soon):
                self.deferred_for_relative[name] += 1
            raise Deferred(max(*(due for _, due in soon), now) + AFTER_THE_TIMER, workflow_id)

    async def _send(
        self, workflow_id: str, update: Any, argument: BaseModel | None, name: str
    ) -> Any:
        ids: list[str] = []
        for _attempt in range(UPDATE_ATTEMPTS):
            ids.append(str(uuid.uuid4()))
            try:
                async with self.watchdog.doing(name, workflow_id):
                    return await self._execute(workflow_id, update, argument, ids[-1])
            except WorkflowUpdateFailedError as failed:
                self.refused[(name, _reason(failed.cause))] += 1
                return None
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                pass  # no answer in time: found out below what became of it
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    self.refused[(name, _reason(error))] += 1
                    return None
            fate = await self._fate(workflow_id, ids, name)
            if fate is not None:
                return fate
            self.retried[name] += 1
        return self._lost(workflow_id, name, len(ids))

    async def _fate(self, workflow_id: str, ids: list[str], name: str) -> Any:
        """After "not found" or a timeout: None if the command must go again (the workflow is
        open, idle and has not taken it); else what to answer the caller."""
        async with self.watchdog.doing(f"finding out what became of {name}", workflow_id):
            state = await workflow_state(self.client, workflow_id)
            for _ in range(IDLE_CHECKS):
                if not state.running or not state.task_running:
                    break
                await asyncio.sleep(IDLE_PAUSE)
                state = await workflow_state(self.client, workflow_id)
            if not state.running:
                # A real server says "workflow execution already completed"; the test
                # server says "update <id> not found". A person's late click, refused.
                self.refused[(name, ENDED)] += 1
                return False
            if await updates_accepted(self.client, workflow_id, ids):
                self.applied_unanswered[name] += 1
                return APPLIED
        return None

    def _lost(self, workflow_id: str, name: str, tries: int) -> None:
        """Lost on every attempt: the person tries again a little later, a few times."""
        self.lost_rounds[(workflow_id, name)] += 1
        now = self.now()
        if now is not None and self.lost_rounds[(workflow_id, name)] <= LOST_TRIES_LATER:
            raise Deferred(now + TRY_AGAIN_AFTER, workflow_id)
        rounds = self.lost_rounds[(workflow_id, name)]
        self.lost.append(LostCommand(workflow_id, name, tries * rounds))
        return None

    async def _execute(
        self, workflow_id: str, update: Any, argument: BaseModel | None, update_id: str
    ) -> Any:
        handle = self.client.get_workflow_handle(workflow_id)
        if argument is None:
            return await handle.execute_update(update, id=update_id)
        return await handle.execute_update(update, argument, id=update_id)

    async def start_discharge(self, case: DischargeCase, coordinator: str) -> None:
        place = case.place
        start = DischargeStart(
            transition_id=case.transition_id,
            patient_id=case.patient_id,
            municipality_number=place.municipality_number,
            origin_unit_id=place.origin_unit_id,
            intake_unit_id=place.intake_unit_id,
            coordinator_id=coordinator,
            expected_discharge_date=case.expected,
            what_matters="Å ha et sted å bo og noen å ringe når det blir tungt.",
            needs=case.needs,
            consents=case.consents,
            housing_unit_id=place.housing_unit_id,
            nav_unit_id=place.nav_unit_id,
            lar_unit_id=place.intake_unit_id,
            timing=DischargeTiming(),
        )
        workflow_id = discharge_workflow_id(case.transition_id)
        async with self.watchdog.doing("start", workflow_id):
            await self.client.start_workflow(
                DischargeWorkflow.run,
                DischargeInput(start=start, started_by=coordinator),
                id=workflow_id,
                task_queue=TASK_QUEUE,
            )
        # Update-with-start is unconfirmed on the test server: start, then wait for the first step.
        await self.send(workflow_id, DischargeWorkflow.started, None, fresh=True)

    async def start_lar_change(self, case: LarCase, consultant: str, today: date) -> None:
        place = case.place
        start = LarChangeStart(
            transition_id=case.transition_id,
            patient_id=case.patient_id,
            municipality_number=place.municipality_number,
            origin_unit_id=LAR_UNIT,
            lar_contact_unit_id=place.intake_unit_id,
            dispensing_unit_id=place.intake_unit_id,
            proposed_by=consultant,
            proposal=PROPOSAL,
            effective_date=case.effective,
            what_matters="Å beholde jobben.",
            answer_hours=frozen_from(OfficeHours(), today),
        )
        workflow_id = lar_workflow_id(case.transition_id)
        async with self.watchdog.doing("start", workflow_id):
            await self.client.start_workflow(
                LarPlanChangeWorkflow.run,
                LarChangeInput(start=start),
                id=workflow_id,
                task_queue=TASK_QUEUE,
            )
        await self.send(workflow_id, LarPlanChangeWorkflow.started, None, fresh=True)


def _reason(cause: BaseException | None) -> str:
    """The refusal's reason without ids, so equal reasons count together."""
    message = str(getattr(cause, "message", cause) or "refused")
    words = [w for w in message.split() if not any(ch.isdigit() for ch in w)]
    return " ".join(words)[:90]
