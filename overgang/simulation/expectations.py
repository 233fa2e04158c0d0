"""What must have happened to a step or a transition, computed from the domain's own rules
(domain.escalation, domain.calendar, domain.waiting_days) and from what people did, never
from the workflows' code. Pure functions: the invariants compare these with the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import waiting_days
from domain.calendar import OSLO
from domain.escalation import EscalationPolicy, EscalationState, decide, start_escalation

TOLERANCE = timedelta(seconds=1)
# How late a timer's event may be. While the worker works through timers due at the same
# instant (a municipality's deadlines at midnight, a Monday's escalations), the test server's
# clock runs at wall pace, so the last of them are recorded seconds after their moment: in a
# full year's first month, 1.4 s and 1.6 s. Early is never allowed beyond TOLERANCE; a wrong
# rule (business hours, a holiday, summer time) is wrong by an hour or more.
LATE = timedelta(seconds=30)


@dataclass(frozen=True)
class Expected:
    """One thing that must happen at `at` (`optional` when a person acted within a second of
    it, so either order is right)."""

    what: str
    at: datetime
    optional: bool = False


def escalation_chain(
    policy: EscalationPolicy,
    created_at: datetime,
    stop: datetime,
    raised: list[tuple[datetime, int]],
) -> list[Expected]:
    """Every escalation and reminder the policy gives a step created at `created_at` that
    nobody acknowledged before `stop`. `raised` are raises outside the chain (a missed
    follow-up, a double bounce): (when, to level), applied as domain.tasks.escalate_to does."""
    state = start_escalation(policy, created_at)
    raises = sorted(raised)
    out: list[Expected] = []
    while (at := state.next_at) is not None and at < stop + TOLERANCE:
        while raises and raises[0][0] <= at:
            state = _raised(policy, state, *raises.pop(0))
        decision = decide(policy, state, at)
        if decision is None:
            break
        optional = abs(at - stop) <= TOLERANCE
        out.append(Expected(f"{decision.action}:{decision.level}", at, optional))
        state = decision.state
    return out


def _raised(
    policy: EscalationPolicy, state: EscalationState, at: datetime, level: int
) -> EscalationState:
    level = min(level, len(policy.levels) - 1)
    if state.level >= level:
        return state
    return state.model_copy(update={"level": level, "level_started_at": at})


def first_overdue(
    deadlines: list[tuple[datetime, datetime]], closed_at: datetime | None, now: datetime
) -> Expected | None:
    """When a step becomes overdue: the first moment it is open past the deadline in force.
    `deadlines` are (from when, due at), the first from the step's creation."""
    for i, (since, due) in enumerate(deadlines):
        until = deadlines[i + 1][0] if i + 1 < len(deadlines) else None
        moment = max(since, due)
        if until is not None and moment >= until:
            continue  # the deadline moved before it passed
        if moment > now or (closed_at is not None and moment > closed_at + TOLERANCE):
            return None
        near_close = closed_at is not None and abs(moment - closed_at) <= TOLERANCE
        return Expected("overdue", moment, optional=near_close or now - moment <= TOLERANCE)
    return None


def waiting_day_starts(
    ready_at: datetime, stopped_at: datetime | None, now: datetime, day_length: timedelta
) -> list[Expected]:
    """The overliggedøgn of a patient declared ready at `ready_at`: each day counts if, when it
    begins, the count has not stopped (discharge, the municipality ready, cancellation)."""
    end = min(t for t in (stopped_at, now) if t is not None)
    days: list[Expected] = []
    n = 1
    while (begins := waiting_days.day_begins(ready_at, n, day_length)) < end + TOLERANCE:
        optional = abs(begins - end) <= TOLERANCE
        days.append(Expected(f"day {n}", begins, optional))
        n += 1
    return days


def daily_rate_at(begins: datetime) -> int:
    return waiting_days.daily_rate(begins.astimezone(OSLO).year)


def match(expected: list[Expected], actual: list[tuple[str, datetime]]) -> list[str]:
    """Compare in order; each problem as a sentence naming the event and its time."""
    problems: list[str] = []
    remaining = list(actual)
    for item in expected:
        hit = next((a for a in remaining if a[0] == item.what and _on_time(a[1], item.at)), None)
        if hit is not None:
            remaining.remove(hit)
        elif not item.optional:
            problems.append(f"missing {item.what} due at {item.at.isoformat()}")
    for what, at in remaining:
        due = [e for e in expected if e.what == what]
        nearest = min(due, key=lambda e: abs(e.at - at), default=None)
        hint = f" (policy gives {nearest.at.isoformat()})" if nearest else " (not due at all)"
        problems.append(f"unexpected {what} at {at.isoformat()}{hint}")
    return problems


def _on_time(at: datetime, due: datetime) -> bool:
    return -TOLERANCE <= at - due <= LATE
