"""One simulation run from start to report: `overgang simulate` calls `simulate`."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import text

from domain.calendar import OSLO
from overgang.simulation.commands import LOST_BY_TEST_SERVER
from overgang.simulation.driver import Driver
from overgang.simulation.environment import simulation_stack
from overgang.simulation.invariants import Outcome
from overgang.simulation.people import People, holidays_for
from overgang.simulation.population import SimulationConfig, population
from overgang.simulation.report import Throughput, figures, invariant_lines, throughput_lines

_OPEN = text(
    "SELECT tr.id, COALESCE(tr.details->>'parent_transition_id', tr.id), tr.kind, "
    "string_agg(t.kind || ' ' || t.status, ', ') FILTER (WHERE t.status NOT IN "
    "('completed', 'cancelled', 'rejected')) "
    "FROM transitions tr LEFT JOIN tasks t ON t.transition_id = tr.id "
    "WHERE tr.status = 'active' GROUP BY 1, 2, 3"
)

_LAST_EVENTS = text(
    "SELECT kind, at FROM events WHERE transition_id = :id ORDER BY seq DESC LIMIT 6"
)


# Beyond about two months of a year's admissions the test server's timers have slowed several
# times over (overgang/simulation/server_probe.py): say so before hours go by.
SLOW_BEYOND = 3_000


def first_monday_after(now: datetime) -> date:
    today = now.astimezone(OSLO).date()
    return today + timedelta(days=7 - today.weekday())


@dataclass(frozen=True)
class RunResult:
    outcomes: dict[str, Outcome]
    figures: list[str]
    throughput: Throughput
    open_reasons: dict[str, str]
    lost_commands: list[str]
    stalled: bool = False

    @property
    def broken(self) -> int:
        return sum(len(o.breaches) for o in self.outcomes.values())


async def simulate(config: SimulationConfig, folder: Path | None = None) -> int:
    """Run the population through virtual time; print progress and the report. Exit status:
    0 if every invariant held, 1 if one broke, 2 if the run stalled and was ended early."""
    result = await run_simulation(config, folder)
    if result.stalled:
        return 2
    return 1 if result.broken else 0


async def run_simulation(config: SimulationConfig, folder: Path | None = None) -> RunResult:
    own_folder = folder is None
    folder = folder or Path(tempfile.mkdtemp(prefix="overgang-simulation-"))
    try:
        return await _simulate(config, folder)
    finally:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)


def warn_when_slow(config: SimulationConfig) -> None:
    if config.transitions > SLOW_BEYOND:
        print(
            "This takes many hours: the time-skipping test server fires each timer more slowly "
            "the more work it has done (`overgang simulate --probe` measures it). A year at a "
            "twelfth of the density (--transitions 1300) keeps every calendar edge.",
            flush=True,
        )


async def _simulate(config: SimulationConfig, folder: Path) -> RunResult:
    wall = time.monotonic()
    async with simulation_stack(folder) as stack:
        first_day = first_monday_after(await stack.clock.now())
        start = datetime.combine(first_day, clock_time(0), tzinfo=OSLO).astimezone(UTC)
        end = start + timedelta(days=config.days + config.drain_days)
        people = People(holidays_for(config.seed, first_day, config.days + config.drain_days))
        await people.write(stack.db)
        driver = Driver(stack, config, population(config, first_day), people)
        driver.invariants.absent = [(a.person_id, a.starts_at, a.ends_at) for a in people.absences]
        print(
            f"Simulating {config.discharges} discharges and {config.lar_changes} LAR changes "
            f"from {first_day} over {config.days} days (+{config.drain_days} to settle), "
            f"seed {config.seed}; people act on a {config.action_grid_seconds}-second grid",
            flush=True,
        )
        warn_when_slow(config)
        await driver.run(start, end, report_every=timedelta(days=max(1, min(7, config.days // 12))))
        if not driver.stalled:
            await _final_checks(driver, end)
        lines = await figures(stack.db)
        commands = driver.commands
        throughput = Throughput(
            time.monotonic() - wall,
            (end - start).days,
            driver.progress.started,
            dict(driver.wall_by_phase),
            {name: (n, commands.answer_seconds[name]) for name, n in commands.sent.items()},
        )
    return _print_report(driver, lines, throughput)


async def _final_checks(driver: Driver, end: datetime) -> None:
    """Every transition still open is checked as it stands, and must have a nameable reason."""
    async with driver.stack.db.transaction() as session:
        open_rows = (await session.execute(_OPEN)).all()
    invariants = driver.invariants
    if open_rows:
        await invariants.check(sorted(r[0] for r in open_rows), end, closed=False)
    invariants.count("ends", driver.progress.started)
    driver.open_reasons = {}
    for transition_id, root_id, kind, open_tasks in open_rows:
        # Named first: a command the test server lost is not the workflow's fault, but it is
        # never hidden behind another reason either.
        reason = driver.lost_command(transition_id, root_id) or driver.open_reason(root_id)
        if reason is None:
            last = await _last_events(driver, transition_id)
            event = (
                f"{kind} still open (open tasks: {open_tasks or 'none'}), nothing left planned; "
                f"last events: {last}"
            )
            invariants.breach("ends", transition_id, event)
        else:
            driver.open_reasons[transition_id] = reason
    for root_id, finding in driver.findings:
        invariants.breach("lar_objection", root_id, finding)


async def _last_events(driver: Driver, transition_id: str) -> str:
    async with driver.stack.db.transaction() as session:
        rows = (await session.execute(_LAST_EVENTS, {"id": transition_id})).all()
    return ", ".join(f"{kind} {at.astimezone(OSLO):%m-%d %H:%M}" for kind, at in reversed(rows))


def _print_report(driver: Driver, lines: list[str], throughput: Throughput) -> RunResult:
    outcomes = driver.invariants.outcomes
    lost = driver.commands.lost
    reasons = sorted({_short(r) for r in driver.open_reasons.values()})
    refused = driver.commands.refused.most_common(6)
    print("\n=== overgang simulate: report ===")
    for line in invariant_lines(outcomes):
        print(line)
    print(f"Open at the end: {len(driver.open_reasons)} ({', '.join(reasons) or 'none'})")
    open_lost = sum(LOST_BY_TEST_SERVER in r for r in driver.open_reasons.values())
    print(f"  of them open because the test server lost a command: {open_lost}")
    print("Commands: " + ", ".join(f"{k} {n}" for k, n in sorted(driver.commands.sent.items())))
    if driver.commands.deferred:
        deferred = dict(driver.commands.deferred)
        print(f"  deferred until a timer due within minutes had fired: {deferred}")
        relatives = dict(driver.commands.deferred_for_relative)
        print(f"    of them for a timer of the parent or a child only: {relatives or 'none'}")
    if driver.commands.retried:
        retried = dict(driver.commands.retried)
        print(f"  sent again (fresh id) after 'not found' or no answer: {retried}")
    if driver.commands.applied_unanswered:
        applied = dict(driver.commands.applied_unanswered)
        print(f"  done although the answer was lost (found in the history, not re-sent): {applied}")
    for (update, reason), n in refused:
        print(f"  refused {n}× {update}: {reason}")
    print(f"Commands lost by the time-skipping test server: {len(lost)}")
    for command in lost:
        print(f"  {command}")
    print("\nWhat a leader would see for the simulated period:")
    for line in lines:
        print(f"  {line}")
    print()
    for line in throughput_lines(throughput):
        print(line)
    return RunResult(
        driver.invariants.outcomes,
        lines,
        throughput,
        driver.open_reasons,
        [str(command) for command in lost],
        driver.stalled,
    )


def _short(reason: str) -> str:
    if LOST_BY_TEST_SERVER in reason:
        return f"a command {LOST_BY_TEST_SERVER}"
    return reason.split(" planned")[0]
