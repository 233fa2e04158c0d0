"""The driver: lets virtual time pass to the next thing someone does, does it (an Update on the
real workflow), looks at the read model for what is new, and checks invariants as it goes."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from domain.calendar import OSLO
from domain.discharge import ChangeDischargeDate, MarkDischarged, MarkReady
from domain.transition import CancelTransition
from foundation.observability import transition_id_of
from overgang.simulation.agenda import Action, Agenda
from overgang.simulation.commands import Commands, Deferred
from overgang.simulation.diagnosis import describe_stuck, wedged_among
from overgang.simulation.environment import Stack
from overgang.simulation.invariants import Invariants
from overgang.simulation.observer import Observer, SeenEvent
from overgang.simulation.people import People
from overgang.simulation.population import (
    CALENDAR,
    LAR_UNIT,
    Case,
    DischargeCase,
    LarCase,
    SimulationConfig,
    after_business_minutes,
    case_rng,
    office_instant,
)
from overgang.simulation.responders import Responders
from overgang.simulation.watchdog import SimulationStalled, Watchdog
from store.tables import Patient
from workflows.discharge import DischargeWorkflow
from workflows.discharge import workflow_id_for as discharge_workflow_id
from workflows.lar_change import workflow_id_for as lar_workflow_id

OBSERVE_EVERY = timedelta(minutes=30)
# People act in office hours only: outside them one look before opening is enough.
FIRST_LOOK, LAST_LOOK = 7, 16
# Commands in flight at once. More only queue in the test server and the worker: the medium
# run (600 discharges, 14 + 7 days) took 294-297 s with 64, 270 s with 8, run after run.
CONCURRENT_COMMANDS = 8
CLOSED = ("transition_completed", "transition_cancelled")
PASSING = "virtual time passing"
COMMANDS = "people's commands"
LOOKING = "reading the read model"
CHECKING = "checking invariants"


@dataclass
class CaseState:
    """What the driver knows of a case from its own moves and the read model."""

    started: bool = False
    ready: bool = False
    discharged: bool = False
    closed: bool = False
    municipality_ready: bool = False
    expected: date | None = None
    closed_ids: set[str] = field(default_factory=set)


@dataclass
class Progress:
    started_wall: float = field(default_factory=time.monotonic)
    started: int = 0
    closed: int = 0


class Driver:
    def __init__(
        self, stack: Stack, config: SimulationConfig, cases: list[Case], people: People
    ) -> None:
        self.stack = stack
        self.config = config
        self.cases: dict[str, Case] = {case.transition_id: case for case in cases}
        self.state = {case.transition_id: CaseState() for case in cases}
        self.people = people
        self.agenda = Agenda(timedelta(seconds=config.action_grid_seconds))
        self.watchdog = Watchdog(config.stall_seconds)
        self.commands = Commands(
            stack.client, self.watchdog, lambda: self.now, stack.timers.family_timers
        )
        self.observer = Observer(stack.db)
        self.responders = Responders(self)
        self.invariants = Invariants(stack, config)
        self.findings: list[tuple[str, str]] = []
        self.open_reasons: dict[str, str] = {}
        self.progress = Progress()
        self._limit = asyncio.Semaphore(CONCURRENT_COMMANDS)
        self._to_check: set[str] = set()
        self.virtual_start: datetime | None = None
        self.virtual_end: datetime | None = None
        self.end_at: datetime | None = None
        self.now: datetime | None = None
        self.stalled = False
        # Where the wall time goes: virtual time passing (the test server running what falls
        # due), people's commands, looking at the read model, checking invariants.
        self.wall_by_phase: defaultdict[str, float] = defaultdict(float)

    # --- scheduling ------------------------------------------------------------------------

    def schedule(
        self,
        at: datetime,
        label: str,
        transition_id: str,
        run: Callable[[datetime], Awaitable[Any]],
    ) -> None:
        # Kept even past the end: what is still planned names why a case is open.
        self.agenda.add(at, label, transition_id, run)

    async def _do(self, action: Action, now: datetime) -> None:
        async with self._limit:
            try:
                await action.run(now)
            except Deferred as deferred:  # a timer of its workflow is about to fire
                self.agenda.add(deferred.until, action.label, action.transition_id, action.run)

    # --- the loop ------------------------------------------------------------------------

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.wall_by_phase[name] += time.monotonic() - started

    async def run(self, start: datetime, end: datetime, report_every: timedelta) -> None:
        """Run to `end`; a run that stops moving ends early with `stalled` set and the
        watchdog's message as a failed-workflow-task breach."""
        try:
            await self.watchdog.guard(self._run(start, end, report_every), self._virtual_now)
        except SimulationStalled as stalled:
            self.stalled = True
            await self._report_stall(stalled)

    async def _report_stall(self, stalled: SimulationStalled) -> None:
        message, stuck = str(stalled), stalled.stuck
        if stuck is not None and stuck.workflow_id is not None:
            suspects = [stuck.workflow_id]
        else:  # stuck while virtual time passed: look for a workflow task left open
            suspects = await wedged_among(self.stack.client, self._open_workflow_ids())
        if not suspects:
            self.invariants.breach("workflow_tasks", "-", message)
        for workflow_id in suspects:
            found = await describe_stuck(self.stack.client, workflow_id, self.now)
            transition_id = transition_id_of(workflow_id) or workflow_id
            self.invariants.breach("workflow_tasks", transition_id, f"{message}; {found}")

    def _open_workflow_ids(self) -> list[str]:
        """The started cases not seen to close (their children are found from their
        histories)."""
        return [
            self._workflow_id(case)
            for tid, case in self.cases.items()
            if self.state[tid].started and not self.state[tid].closed
        ]

    def _workflow_id(self, case: Case) -> str:
        if isinstance(case, DischargeCase):
            return discharge_workflow_id(case.transition_id)
        return lar_workflow_id(case.transition_id)

    def _virtual_now(self) -> str:
        return self.now.isoformat() if self.now else "(not started)"

    async def _run(self, start: datetime, end: datetime, report_every: timedelta) -> None:
        self.virtual_start, self.virtual_end = start, end
        self.end_at = end
        await self._write_patients()
        for case in self.cases.values():
            self.schedule(case.start_at, "start", case.transition_id, self._start(case))
        now = await self._sleep_until(start)
        next_look, next_day, next_report = now, self._day_after(now), now + report_every
        while now < end:
            target = min(t for t in (self.agenda.next_at(), next_look, next_day, end) if t)
            with self._phase(PASSING):
                now = await self._sleep_until(target)
            with self._phase(COMMANDS):
                await asyncio.gather(*(self._do(action, now) for action in self.agenda.due(now)))
            if now >= next_look:
                await self._look(now)
                next_look = self._next_look(now)
            if now >= next_day:
                await self._daily_checks(now)
                next_day = self._day_after(now)
            if now >= next_report:
                self.print_progress(now)
                while next_report <= now:
                    next_report += report_every
        await self._look(now)
        await self._check_closed(now)

    async def _sleep_until(self, at: datetime) -> datetime:
        async with self.watchdog.doing(f"letting virtual time pass to {at.isoformat()}"):
            self.now = await self.stack.clock.sleep_until(at)
        return self.now

    def _next_look(self, now: datetime) -> datetime:
        """Every half hour while offices are open; otherwise just before the next opening."""
        later = now + OBSERVE_EVERY
        local = later.astimezone(OSLO)
        if CALENDAR.is_business_day(local.date()) and FIRST_LOOK <= local.hour < LAST_LOOK:
            return later
        day = local.date() if local.hour < FIRST_LOOK else local.date() + timedelta(days=1)
        morning = datetime.combine(CALENDAR.add_business_days(day, 0), clock_time(FIRST_LOOK, 30))
        return morning.replace(tzinfo=OSLO).astimezone(UTC)

    def _day_after(self, now: datetime) -> datetime:
        """23:00 Norwegian time on the next working day: the daily checkpoint."""
        local = now.astimezone(OSLO)
        day = local.date() if local.hour < 23 else local.date() + timedelta(days=1)
        evening = datetime.combine(CALENDAR.add_business_days(day, 0), clock_time(23, 0))
        return evening.replace(tzinfo=OSLO).astimezone(UTC)

    async def _look(self, now: datetime) -> None:
        with self._phase(LOOKING):
            async with self.watchdog.doing("reading the read model"):
                tasks, events = await self.observer.look(now)
        for task in tasks:
            self.responders.on_task(task)
        for event in events:
            self._on_event(event)
        await self._check_closed(now)

    def _on_event(self, event: SeenEvent) -> None:
        state = self.state.get(event.transition_id)
        if event.kind == "escalated" and event.task_id and event.level is not None:
            self.responders.on_escalated(event.task_id, event.level, event.at)
        elif event.kind == "municipality_ready" and state is not None:
            state.municipality_ready = True
        if event.kind in CLOSED:
            self._to_check.add(event.transition_id)
            self.progress.closed += 1
            if state is not None:
                state.closed = True

    async def _check_closed(self, now: datetime) -> None:
        if self._to_check:
            ids, self._to_check = sorted(self._to_check), set()
            with self._phase(CHECKING):
                async with self.watchdog.doing(f"checking {len(ids)} closed transitions"):
                    await self.invariants.check(ids, now, closed=True)

    async def _daily_checks(self, now: datetime) -> None:
        """A sample of open transitions, compared with the read model while they run."""
        open_ids = [tid for tid, s in self.state.items() if s.started and not s.closed]
        rng = random.Random(f"{self.config.seed}:{now.date()}")
        sample = rng.sample(open_ids, min(self.config.checks_per_day, len(open_ids)))
        with self._phase(CHECKING):
            async with self.watchdog.doing(f"checking {len(sample)} open transitions"):
                await self.invariants.check(sorted(sample), now, closed=False)

    def print_progress(self, now: datetime) -> None:
        assert self.virtual_start is not None and self.virtual_end is not None
        wall = time.monotonic() - self.progress.started_wall
        day = (now - self.virtual_start).days
        total = (self.virtual_end - self.virtual_start).days
        broken = self.invariants.broken_count()
        print(
            f"day {day:>3}/{total} {now.astimezone(OSLO):%Y-%m-%d} · started "
            f"{self.progress.started} · closed {self.progress.closed} · checked "
            f"{self.invariants.checked_transitions} · broken {broken} · "
            f"{self.progress.started / max(wall, 1e-9):.1f} transitions/s · wall {wall:.0f} s",
            flush=True,
        )

    # --- the cases' own moves -------------------------------------------------------------

    async def _write_patients(self) -> None:
        """Every case's patient, with a made-up identifier that no real person has."""
        rows = []
        for n, case in enumerate(self.cases.values()):
            case.patient_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim:{case.transition_id}"))
            rows.append(
                {
                    "id": case.patient_id,
                    "fodselsnummer": f"9{n:010d}",
                    "name": f"Pasient {n}",
                    "created_at": case.start_at,
                }
            )
        async with self.stack.db.transaction() as session:
            for chunk in range(0, len(rows), 5000):
                await session.execute(insert(Patient).values(rows[chunk : chunk + 5000]))

    def _start(self, case: Case) -> Callable[[datetime], Awaitable[None]]:
        async def run(now: datetime) -> None:
            state = self.state[case.transition_id]
            if isinstance(case, DischargeCase):
                coordinator = self.people.contact(case.place.origin_unit_id, now).person_id
                await self.commands.start_discharge(case, coordinator)
                state.expected = case.expected
                self._plan_discharge(case)
            else:
                consultant = self.people.contact(LAR_UNIT, now).person_id
                await self.commands.start_lar_change(case, consultant, now.astimezone(OSLO).date())
            state.started = True
            self.progress.started += 1

        return run

    def _plan_discharge(self, case: DischargeCase) -> None:
        tid = case.transition_id
        for at, new_date in case.date_moves:
            self.schedule(at, "move-date", tid, self._move_date(case, new_date))
        if case.outcome != "planned" and case.outcome_at is not None:
            self.schedule(case.outcome_at, case.outcome, tid, self._leave(case))
        self._schedule_ready(case)

    def _schedule_ready(self, case: DischargeCase) -> None:
        expected = self.state[case.transition_id].expected or case.expected
        rng = case_rng(self.config.seed, case.transition_id, "ready", expected)
        at = office_instant(expected - timedelta(days=case.ready_lead_days), rng)
        self.schedule(at, "ready", case.transition_id, self._ready(case, expected))

    def _workflow(self, case: DischargeCase) -> str:
        return discharge_workflow_id(case.transition_id)

    def _actor(self, case: DischargeCase, now: datetime) -> Any:
        return self.people.contact(case.place.origin_unit_id, now)

    def _move_date(
        self, case: DischargeCase, new_date: date
    ) -> Callable[[datetime], Awaitable[None]]:
        async def run(now: datetime) -> None:
            state = self.state[case.transition_id]
            if state.discharged or state.closed or new_date <= now.astimezone(OSLO).date():
                return
            command = ChangeDischargeDate(
                actor=self._actor(case, now), expected_discharge_date=new_date, reason="Endret plan"
            )
            if await self.commands.send(
                self._workflow(case), DischargeWorkflow.change_discharge_date, command
            ):
                state.expected = new_date
                if not state.ready:
                    self._schedule_ready(case)

        return run

    def _ready(
        self, case: DischargeCase, planned_for: date
    ) -> Callable[[datetime], Awaitable[None]]:
        async def run(now: datetime) -> None:
            state = self.state[case.transition_id]
            if state.ready or state.discharged or state.closed or state.expected != planned_for:
                return
            command = MarkReady(actor=self._actor(case, now))
            if await self.commands.send(
                self._workflow(case), DischargeWorkflow.mark_ready, command
            ):
                state.ready = True
                self._schedule_discharge(case, now)

        return run

    def _schedule_discharge(self, case: DischargeCase, now: datetime) -> None:
        expected = self.state[case.transition_id].expected or case.expected
        rng = case_rng(self.config.seed, case.transition_id, "discharge", expected)
        at = max(office_instant(expected, rng), after_business_minutes(now, 120))
        self.schedule(at, "discharge", case.transition_id, self._discharge(case))

    def _discharge(self, case: DischargeCase) -> Callable[[datetime], Awaitable[None]]:
        """Discharged on the expected day once the municipality can receive; until then the
        patient stays (overliggedøgn) and the ward asks again the next working day."""

        async def run(now: datetime) -> None:
            state = self.state[case.transition_id]
            if state.discharged or state.closed:
                return
            if not state.municipality_ready:
                later = after_business_minutes(now, 7.5 * 60)
                self.schedule(
                    later, "discharge (waiting for the municipality)", case.transition_id, run
                )
                return
            command = MarkDischarged(actor=self._actor(case, now), planned=True)
            if await self.commands.send(
                self._workflow(case), DischargeWorkflow.mark_discharged, command
            ):
                state.discharged = True

        return run

    def _leave(self, case: DischargeCase) -> Callable[[datetime], Awaitable[None]]:
        """The patient leaves unplanned, or the stay is cancelled (re-admitted, moved)."""

        async def run(now: datetime) -> None:
            state = self.state[case.transition_id]
            if state.discharged or state.closed:
                return
            if case.outcome == "unplanned":
                command: Any = MarkDischarged(actor=self._actor(case, now), planned=False)
                if await self.commands.send(
                    self._workflow(case), DischargeWorkflow.mark_discharged, command
                ):
                    state.discharged = True
                return
            command = CancelTransition(
                actor=self._actor(case, now), reason="Reinnlagt før utskrivning"
            )
            await self.commands.send(self._workflow(case), DischargeWorkflow.cancel, command)

        return run

    # --- the end --------------------------------------------------------------------------

    def lost_command(self, *transition_ids: str) -> str | None:
        """The command the test server lost for one of these transitions, if any."""
        lost = [c for c in self.commands.lost if c.transition_id in transition_ids]
        return str(lost[0]) if lost else None

    def open_reason(self, transition_id: str) -> str | None:
        """Why a case is still open at the end, if the simulation can name it."""
        pending = self.agenda.pending_for(transition_id)
        if pending:
            first = pending[0]
            return f"{first.label} planned for {first.at.astimezone(OSLO):%Y-%m-%d}"
        waiting = self.responders.waiting_for_level
        if any(self._task_root(t) == transition_id for t in waiting):
            return "an owner who answers only when their leader is told"
        case = self.cases.get(transition_id)
        ends = self.end_at.astimezone(OSLO).date() if self.end_at else None
        if isinstance(case, LarCase) and ends is not None and case.effective >= ends:
            return f"LAR change takes effect {case.effective}"
        return None

    def _task_root(self, task_id: str) -> str | None:
        return self.responders.roots.get(task_id)
