"""The pure rules the transition workflows apply: when the municipality is ready, which
handovers go out, when housing starts, when a LAR answer is due, when a bounce escalates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.calendar import OfficeHours
from domain.default_policy import DEFAULT_POLICY
from domain.discharge import (
    Consents,
    DischargeStart,
    DischargeState,
    DischargeTiming,
    HandoverLink,
    HandoverStatus,
    Needs,
    handover_starts_at,
    handovers_wanted,
    municipality_ready,
    start_of_day,
)
from domain.escalation import start_escalation
from domain.handover import needs_bounce_escalation, units_involved
from domain.lar import answer_deadline
from domain.tasks import Task, TaskKind, TaskStatus, escalate_to
from domain.transition import TransitionCore, TransitionKind
from domain.waiting_days import counts, daily_rate, day_begins

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def make_task(kind: TaskKind, status: TaskStatus = TaskStatus.REQUESTED, **extra: object) -> Task:
    return Task(
        id=f"{kind.value}-{status.value}",
        transition_id="t",
        kind=kind,
        owner_unit_id=str(extra.pop("owner", "prt")),
        status=status,
        created_at=NOW,
        due_at=NOW + timedelta(hours=4),
        policy=DEFAULT_POLICY,
        escalation=start_escalation(DEFAULT_POLICY, NOW),
        **extra,  # type: ignore[arg-type]
    )


def discharge(needs: Needs = Needs(), consents: Consents = Consents()) -> DischargeState:
    start = DischargeStart(
        transition_id="t",
        patient_id="p",
        municipality_number="3101",
        origin_unit_id="dps",
        intake_unit_id="prt",
        coordinator_id="k",
        expected_discharge_date=date(2026, 12, 15),
        what_matters="bo hjemme",
        needs=needs,
        consents=consents,
    )
    core = TransitionCore(
        transition_id="t", kind=TransitionKind.DISCHARGE, municipality_number="3101",
        origin_unit_id="dps",
    )  # fmt: skip
    return DischargeState(start=start, core=core)


def test_municipality_is_ready_once_intake_accepted_and_housing_completed() -> None:
    state = discharge()
    assert not municipality_ready(state)
    state.core.put_task(make_task(TaskKind.MUNICIPAL_INTAKE, TaskStatus.RECEIVED))
    assert not municipality_ready(state)  # acknowledged is not accepted
    state.core.put_task(make_task(TaskKind.MUNICIPAL_INTAKE, TaskStatus.ACCEPTED))
    assert municipality_ready(state)
    state.handovers["housing"] = HandoverLink(
        kind=TaskKind.HOUSING, workflow_id="w", transition_id="c", owner_unit_id="bolig",
        status=HandoverStatus.RUNNING,
    )  # fmt: skip
    assert not municipality_ready(state)
    state.handovers["housing"].status = HandoverStatus.COMPLETED
    assert municipality_ready(state)


def test_handovers_go_out_only_when_needed_and_consented() -> None:
    state = discharge(Needs(housing=True, nav=True), Consents(share_with_housing_office=True))
    assert handovers_wanted(state.start) == ([TaskKind.HOUSING], [TaskKind.NAV])
    assert handovers_wanted(discharge(Needs(), Consents(share_with_nav=True)).start) == ([], [])


def test_housing_starts_eight_weeks_before_discharge_and_nav_at_once() -> None:
    timing = DischargeTiming()
    expected = date(2026, 12, 15)
    assert handover_starts_at(TaskKind.HOUSING, expected, timing) == start_of_day(
        expected
    ) - timedelta(weeks=8)
    assert handover_starts_at(TaskKind.NAV, expected, timing) < NOW


def test_waiting_days_begin_at_ready_and_stop_when_ready_or_discharged() -> None:
    assert day_begins(NOW, 1, timedelta(days=1)) == NOW
    assert day_begins(NOW, 3, timedelta(days=1)) == NOW + timedelta(days=2)
    assert counts(discharged=False, municipality_ready=False, stopped=False)
    assert not counts(discharged=True, municipality_ready=False, stopped=False)
    assert not counts(discharged=False, municipality_ready=True, stopped=False)
    assert not counts(discharged=False, municipality_ready=False, stopped=True)


def test_daily_rate_by_year_with_the_latest_known_for_later_years() -> None:
    assert daily_rate(2019) == 4885
    assert daily_rate(2023) == 5508
    assert daily_rate(2026) == 5745


def test_lar_answer_is_due_the_working_day_before_the_effective_date() -> None:
    hours = OfficeHours()
    # Wednesday -> Tuesday; Monday -> the Friday before; Saturday -> Friday.
    assert answer_deadline(date(2026, 11, 25), hours) == start_of_day(date(2026, 11, 24))
    assert answer_deadline(date(2026, 11, 23), hours) == start_of_day(date(2026, 11, 20))
    assert answer_deadline(date(2026, 11, 28), hours) == start_of_day(date(2026, 11, 27))
    # 2 January 2027 is a Saturday and 1 January a holiday: the answer is due 31 December.
    assert answer_deadline(date(2027, 1, 2), hours) == start_of_day(date(2026, 12, 31))


def test_second_bounce_escalates_once_to_the_last_level() -> None:
    once = make_task(TaskKind.HOUSING, bounces=["bolig"], owner="nav")
    twice = make_task(TaskKind.HOUSING, bounces=["bolig", "nav"], owner="hjemme")
    assert not needs_bounce_escalation(once, 2, already=False)
    assert needs_bounce_escalation(twice, 2, already=False)
    assert not needs_bounce_escalation(twice, 2, already=True)
    assert units_involved(twice) == ["bolig", "nav", "hjemme"]
    raised = escalate_to(twice, 5, NOW)
    assert raised.escalation.level == len(DEFAULT_POLICY.levels) - 1
    assert escalate_to(raised, 1, NOW) == raised  # never lowered
