"""The escalation decision: table tests for known chains and properties over random policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.calendar import OSLO
from domain.escalation import (
    Channel,
    EscalationDecision,
    EscalationLevel,
    EscalationPolicy,
    EscalationState,
    Recipient,
    acknowledgement_deadline,
    decide,
    start_escalation,
)


def oslo(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=OSLO)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def level(
    wait: timedelta,
    *,
    business: bool = False,
    on_call: bool = True,
    repeat: timedelta | None = None,
    notify: tuple[Recipient, ...] = (Recipient.OWNER_UNIT,),
) -> EscalationLevel:
    return EscalationLevel(
        wait=wait,
        business_time=business,
        reach_on_call_now=on_call,
        repeat_every=repeat,
        notify=notify,
        channels=(Channel.IN_APP,),
    )


def policy(*levels: EscalationLevel) -> EscalationPolicy:
    return EscalationPolicy(id="p", name="test", levels=levels)


def run_chain(
    chain: EscalationPolicy, started_at: datetime, steps: int = 20
) -> list[tuple[datetime, EscalationDecision]]:
    """Let nobody acknowledge: apply every decision at the instant the state asks for."""
    state = start_escalation(chain, started_at)
    fired: list[tuple[datetime, EscalationDecision]] = []
    for _ in range(steps):
        if state.next_at is None:
            break
        now = state.next_at
        assert decide(chain, state, now - timedelta(microseconds=1)) is None
        decision = decide(chain, state, now)
        assert decision is not None
        fired.append((now, decision))
        state = decision.state
    return fired


def summary(fired: list[tuple[datetime, EscalationDecision]]) -> list[tuple[str, int, datetime]]:
    return [(d.action, d.level, at) for at, d in fired]


# --- table tests -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def test_levels_advance_in_order_with_reminders_at_their_instants() -> None:
    chain = policy(
        level(minutes(10), repeat=minutes(4)),
        level(minutes(10), notify=(Recipient.UNIT_LEADER,)),
        level(minutes(30), repeat=minutes(15), notify=(Recipient.MUNICIPAL_LEADER,)),
    )
    fired = run_chain(chain, T0, steps=6)
    assert summary(fired) == [
        ("remind", 0, T0 + minutes(4)),
        ("remind", 0, T0 + minutes(8)),
        ("escalate", 1, T0 + minutes(10)),
        ("escalate", 2, T0 + minutes(20)),
        ("remind", 2, T0 + minutes(35)),
        ("remind", 2, T0 + minutes(50)),
    ]
    assert fired[3][1].notify == (Recipient.MUNICIPAL_LEADER,)
    assert [d.state.reminders_sent for _, d in fired] == [1, 2, 0, 0, 1, 2]


def test_a_reminder_due_with_the_level_end_becomes_the_escalation() -> None:
    chain = policy(level(minutes(10), repeat=minutes(5)), level(minutes(10)))
    assert summary(run_chain(chain, T0)) == [
        ("remind", 0, T0 + minutes(5)),
        ("escalate", 1, T0 + minutes(10)),
    ]


def test_last_level_without_reminders_ends_the_chain() -> None:
    chain = policy(level(minutes(10)), level(minutes(10)))
    fired = run_chain(chain, T0)
    assert summary(fired) == [("escalate", 1, T0 + minutes(10))]
    assert fired[-1][1].state.next_at is None


def test_acknowledged_state_decides_nothing() -> None:
    chain = policy(level(minutes(10)), level(minutes(10)))
    stopped = start_escalation(chain, T0).stopped()
    assert decide(chain, stopped, T0 + timedelta(days=30)) is None


AFTER_HOURS_CASES = [
    # (level 0, started, expected escalation instant, why)
    (
        level(timedelta(hours=1), on_call=False),
        oslo(2025, 1, 10, 15),
        oslo(2025, 1, 13, 8),
        "wall-clock wait due Friday 16:00 escalates at Monday's opening",
    ),
    (
        level(timedelta(hours=1), on_call=True),
        oslo(2025, 1, 10, 15),
        oslo(2025, 1, 10, 16),
        "an on-call level fires after hours",
    ),
    (
        level(timedelta(hours=4), business=True),
        oslo(2025, 4, 16, 15),
        oslo(2025, 4, 22, 11, 30),
        "business wait from the Wednesday before Easter lands after Easter Monday",
    ),
    (
        level(timedelta(hours=4), business=True),
        oslo(2025, 4, 17, 15),
        oslo(2025, 4, 22, 12),
        "a step started on Maundy Thursday counts from Tuesday's opening",
    ),
    (
        level(timedelta(hours=2), on_call=False),
        oslo(2025, 3, 28, 23),
        oslo(2025, 3, 31, 8),
        "due in the night of the spring DST switch, escalates at Monday 08:00 CEST",
    ),
]


@pytest.mark.parametrize(("first", "started", "expected", "why"), AFTER_HOURS_CASES)
def test_after_hours_rule(
    first: EscalationLevel, started: datetime, expected: datetime, why: str
) -> None:
    chain = policy(first, level(timedelta(hours=1)))
    [(at, decision)] = run_chain(chain, started, steps=1)
    assert (decision.action, decision.level, at) == ("escalate", 1, expected), why
    assert acknowledgement_deadline(chain, started) == expected


def test_reminders_due_after_hours_collapse_into_one_at_the_opening() -> None:
    chain = policy(level(timedelta(days=5), on_call=False, repeat=minutes(30)), level(minutes(1)))
    fired = run_chain(chain, oslo(2025, 1, 10, 15), steps=3)
    assert summary(fired) == [
        ("remind", 0, oslo(2025, 1, 13, 8)),
        ("remind", 0, oslo(2025, 1, 13, 8, 30)),
        ("remind", 0, oslo(2025, 1, 13, 9)),
    ]
    # The reminder numbers still count every scheduled instant, so keys never repeat.
    sent = [d.state.reminders_sent for _, d in fired]
    assert sent == sorted(set(sent))


def test_a_late_worker_escalates_without_stale_reminders() -> None:
    chain = policy(level(minutes(10), repeat=minutes(1)), level(minutes(10)))
    state = start_escalation(chain, T0)
    decision = decide(chain, state, T0 + timedelta(hours=3))
    assert decision is not None
    assert (decision.action, decision.level) == ("escalate", 1)
    # The next level counts from when the escalation actually happened.
    assert decision.state.next_at is None
    assert decision.state.level_started_at == T0 + timedelta(hours=3)


def test_a_late_reminder_skips_to_the_next_future_instant() -> None:
    chain = policy(level(timedelta(hours=10), repeat=minutes(1)), level(minutes(10)))
    state = start_escalation(chain, T0)
    decision = decide(chain, state, T0 + minutes(90.5))
    assert decision is not None
    assert decision.action == "remind"
    assert decision.state.reminders_sent == 90
    assert decision.state.next_at == T0 + minutes(91)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wait", timedelta(0)),
        ("repeat_every", timedelta(seconds=-1)),
        ("notify", ()),
        ("channels", ()),
    ],
)
def test_invalid_levels_name_the_field(field: str, value: object) -> None:
    values: dict[str, object] = {"wait": minutes(5), field: value}
    with pytest.raises(ValidationError) as error:
        EscalationLevel.model_validate(values)
    assert error.value.errors()[0]["loc"] == (field,)


def test_a_policy_needs_a_level() -> None:
    with pytest.raises(ValidationError, match="at least one level"):
        EscalationPolicy(id="p", name="empty", levels=())


# --- properties ------------------------------------------------------------------------------

levels_strategy = st.builds(
    level,
    st.integers(min_value=1, max_value=24 * 60).map(minutes),
    business=st.booleans(),
    on_call=st.booleans(),
    repeat=st.one_of(st.none(), st.integers(min_value=5, max_value=12 * 60).map(minutes)),
)
policies = st.lists(levels_strategy, min_size=1, max_size=4).map(lambda ls: policy(*ls))
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


def _level_of(chain: EscalationPolicy, decision: EscalationDecision) -> EscalationLevel:
    return chain.levels[decision.level]


@settings(max_examples=150, deadline=None)
@given(chain=policies, started=instants)
def test_chain_moves_forward_one_level_at_a_time(
    chain: EscalationPolicy, started: datetime
) -> None:
    previous_at, previous_level = started, 0
    for at, decision in run_chain(chain, started, steps=15):
        assert at > previous_at
        step = decision.level - previous_level
        assert step == (1 if decision.action == "escalate" else 0)
        previous_at, previous_level = at, decision.level


@settings(max_examples=150, deadline=None)
@given(chain=policies, started=instants)
def test_everything_fires_when_the_level_allows(chain: EscalationPolicy, started: datetime) -> None:
    calendar = chain.calendar
    for at, decision in run_chain(chain, started, steps=15):
        fired_level = chain.levels[decision.level]
        # An escalation fires under the rules of the level that ran out, a reminder its own.
        rules = chain.levels[decision.level - 1] if decision.action == "escalate" else fired_level
        if rules.business_time:
            window = calendar.opening_hours(at.astimezone(OSLO).date())
            assert window is not None and window[0] <= at <= window[1]
        elif not rules.reach_on_call_now:
            assert calendar.is_open(at)


@settings(max_examples=150, deadline=None)
@given(chain=policies, started=instants)
def test_no_level_ends_before_its_wait(chain: EscalationPolicy, started: datetime) -> None:
    level_started = started
    for at, decision in run_chain(chain, started, steps=15):
        if decision.action == "escalate":
            ran_out = chain.levels[decision.level - 1]
            if ran_out.business_time:
                assert chain.calendar.elapsed(level_started, at) == ran_out.wait
            else:
                assert at >= level_started + ran_out.wait
            level_started = at
        assert decision.state.level_started_at == level_started


@settings(max_examples=100, deadline=None)
@given(
    wait=st.integers(min_value=1, max_value=600).map(minutes),
    every=st.integers(min_value=1, max_value=120).map(minutes),
    started=instants,
)
def test_on_call_reminders_repeat_at_exact_multiples(
    wait: timedelta, every: timedelta, started: datetime
) -> None:
    chain = policy(level(timedelta(days=2), repeat=every), level(wait))
    fired = run_chain(chain, started, steps=8)
    reminders = [(at, d) for at, d in fired if d.action == "remind"]
    for n, (at, decision) in enumerate(reminders, start=1):
        assert at == started + every * n
        assert decision.state.reminders_sent == n


def test_state_round_trips_through_json() -> None:
    """Workflow state crosses Temporal as JSON; the decision must survive it unchanged."""
    chain = policy(level(minutes(1.5), repeat=timedelta(seconds=40)), level(minutes(2)))
    state = start_escalation(chain, T0)
    again = EscalationState.model_validate_json(state.model_dump_json())
    chain_again = EscalationPolicy.model_validate_json(chain.model_dump_json())
    assert decide(chain_again, again, again.next_at) == decide(chain, state, state.next_at)  # type: ignore[arg-type]
