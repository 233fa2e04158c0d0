"""The report at the end of a run: the invariants and any breach, the figures a leader would see
for the simulated period, and the run's own throughput."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from domain.calendar import BusinessCalendar
from overgang.simulation.invariants import INVARIANTS, Outcome
from store.database import Database

CALENDAR = BusinessCalendar()
Rows = Sequence[Sequence[Any]]
BREACHES_SHOWN = 8

_TASKS = text(
    "SELECT t.owner_unit_id, t.kind, t.created_at, t.acknowledged_at, t.completed_at, t.due_at, "
    "t.status, t.business_status FROM tasks t"
)
_EVENT_COUNTS = text(
    "SELECT kind, COALESCE(detail->>'level', ''), count(*) FROM events "
    "WHERE kind IN ('escalated', 'reminded', 'task_forwarded', 'bounce_escalated', 'task_overdue') "
    "GROUP BY 1, 2"
)
_WAITING = text(
    "SELECT tr.municipality_number, count(*), sum((e.detail->>'rate_nok')::int) "
    "FROM events e JOIN transitions tr ON tr.id = e.transition_id "
    "WHERE e.kind = 'waiting_day' GROUP BY 1"
)
_TRANSITIONS = text("SELECT kind, status, count(*) FROM transitions GROUP BY 1, 2")


@dataclass(frozen=True)
class Throughput:
    wall_seconds: float
    virtual_days: float
    started: int
    by_phase: dict[str, float] = field(default_factory=dict)  # wall seconds
    answers: dict[str, tuple[int, float]] = field(default_factory=dict)  # update: n, seconds


def _hours(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    return f"median {statistics.median(values):5.1f} h · p90 {p90:5.1f} h"


async def figures(db: Database) -> list[str]:
    async with db.transaction() as session:
        tasks = (await session.execute(_TASKS)).all()
        counts = (await session.execute(_EVENT_COUNTS)).all()
        waiting = (await session.execute(_WAITING)).all()
        transitions = (await session.execute(_TRANSITIONS)).all()
    lines = ["Transitions: " + ", ".join(f"{k} {s} {n}" for k, s, n in sorted(transitions))]
    lines += _acknowledgement(tasks)
    lines += _overdue_and_escalation(tasks, counts)
    lines += _waiting_days(waiting)
    lines += _follow_up(tasks)
    return lines


def _acknowledgement(tasks: Rows) -> list[str]:
    by_unit: dict[str, list[float]] = defaultdict(list)
    for unit, _, created, acknowledged, *_ in tasks:
        if isinstance(created, datetime) and isinstance(acknowledged, datetime):
            elapsed = CALENDAR.elapsed(created, acknowledged).total_seconds() / 3600
            by_unit[str(unit)].append(elapsed)
    lines = ["Time to acknowledge (business hours), by unit:"]
    for unit in sorted(by_unit):
        lines.append(f"  {unit:<22} {_hours(by_unit[unit])} · n {len(by_unit[unit])}")
    return lines


def _overdue_and_escalation(tasks: Rows, counts: Rows) -> list[str]:
    tally: Counter[tuple[str, str]] = Counter(
        {(str(k), str(lv)): int(str(n)) for k, lv, n in counts}
    )
    overdue = sum(n for (k, _), n in tally.items() if k == "task_overdue")
    levels = sorted((lv, n) for (k, lv), n in tally.items() if k == "escalated")
    reminders = sum(n for (k, _), n in tally.items() if k == "reminded")
    return [
        f"Overdue share: {overdue} of {len(tasks)} tasks ({overdue / max(1, len(tasks)):.1%})",
        "Escalations by level: "
        + ", ".join(f"level {lv}: {n}" for lv, n in levels)
        + f"; reminders: {reminders}",
        f"Bounces: {sum(n for (k, _), n in tally.items() if k == 'task_forwarded')} forwards, "
        f"{sum(n for (k, _), n in tally.items() if k == 'bounce_escalated')} double bounces "
        "escalated to the leaders",
    ]


def _waiting_days(rows: Rows) -> list[str]:
    days = sum(int(str(n)) for _, n, _ in rows)
    cost = sum(int(str(c or 0)) for _, _, c in rows)
    per = ", ".join(f"{m}: {n}" for m, n, _ in sorted(rows, key=lambda r: str(r[0])))
    return [f"Waiting days (overliggedøgn): {days}, cost NOK {cost:,} at the year's rate ({per})"]


def _follow_up(tasks: Rows) -> list[str]:
    follow_ups = [t for t in tasks if t[1] == "follow_up" and t[6] != "cancelled"]
    in_time = [
        t
        for t in follow_ups
        if t[7] == "contacted"
        and isinstance(t[4], datetime)
        and isinstance(t[5], datetime)
        and t[4] <= t[5]
    ]
    share = len(in_time) / max(1, len(follow_ups))
    return [f"First contact within 7 days: {len(in_time)} of {len(follow_ups)} ({share:.1%})"]


def invariant_lines(outcomes: dict[str, Outcome]) -> list[str]:
    lines = ["Invariants:"]
    for name, description in INVARIANTS.items():
        outcome = outcomes[name]
        mark = "ok    " if not outcome.breaches else "BROKEN"
        lines.append(
            f"  {mark} {description} — {outcome.checked} checked, {len(outcome.breaches)} broken"
        )
        for breach in outcome.breaches[:BREACHES_SHOWN]:
            lines.append(f"         transition {breach.transition_id}: {breach.event}")
        if len(outcome.breaches) > BREACHES_SHOWN:
            lines.append(f"         … and {len(outcome.breaches) - BREACHES_SHOWN} more")
    return lines


def throughput_lines(run: Throughput) -> list[str]:
    wall = max(run.wall_seconds, 1e-9)
    return [
        f"Throughput: {run.started} transitions and {run.virtual_days:.0f} virtual days in "
        f"{run.wall_seconds:.0f} s wall: {run.started / wall:.2f} transitions/s, "
        f"{run.virtual_days / wall:.3f} virtual days/s",
        *_phase_lines(run, wall),
    ]


def _phase_lines(run: Throughput, wall: float) -> list[str]:
    """Where the wall time went, and how long the busiest commands waited for an answer."""
    if not run.by_phase:
        return []
    phases = sorted(run.by_phase.items(), key=lambda item: -item[1])
    shares = ", ".join(f"{name} {seconds:.0f} s ({seconds / wall:.0%})" for name, seconds in phases)
    busiest = sorted(run.answers.items(), key=lambda item: -item[1][0])[:4]
    answers = ", ".join(f"{name} {seconds / n:.2f} s (n {n})" for name, (n, seconds) in busiest)
    return [f"  wall time: {shares}", f"  mean wait for an answer: {answers or '-'}"]
