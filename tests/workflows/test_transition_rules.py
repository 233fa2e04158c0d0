"""The pure rules the transition workflows apply: when the municipality is ready, which
handovers go out, when housing starts, when a LAR answer is due, when a bounce escalates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.actors import Actor, Role
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
    future_date_refusal,
    handover_starts_at,
    handovers_wanted,
    municipality_ready,
    start_of_day,
)
from domain.escalation import (
    Channel,
    EscalationLevel,
    EscalationPolicy,
    Recipient,
    decide,
    skipped_reminders,
    start_escalation,
)
from domain.handover import needs_bounce_escalation, units_involved
from domain.lar import answer_deadline, proposer_refusal
from domain.notifications import (
    Delivery,
    DeliveryFailure,
    NotificationReason,
    NotificationReceipt,
    NotificationRequest,
    fallbacks,
)
from domain.tasks import Task, TaskKind, TaskStatus, escalate_to, flag_overdue, move_deadline
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


# --- rules added for the workflow fixes ------------------------------------------------------


def test_a_date_that_happened_may_be_today_in_norway_but_not_later() -> None:
    late_evening_utc = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 December in Oslo
    assert future_date_refusal("held_on", date(2026, 12, 2), late_evening_utc) is None
    refusal = future_date_refusal("held_on", date(2026, 12, 3), late_evening_utc)
    assert refusal is not None and refusal.startswith("held_on 2026-12-03 is in the future")
    assert "2026-12-02" in refusal


def test_a_step_is_flagged_overdue_once_and_not_before_its_deadline() -> None:
    task = make_task(TaskKind.COOPERATION_MEETING)
    assert flag_overdue(task, task.due_at - timedelta(seconds=1)) is None
    flagged = flag_overdue(task, task.due_at)
    assert flagged is not None and flagged.overdue_at == task.due_at
    assert flag_overdue(flagged, task.due_at + timedelta(days=1)) is None
    later = move_deadline(flagged, task.due_at + timedelta(days=2))
    assert not later.is_overdue(task.due_at + timedelta(days=1))  # moved later: not overdue
    assert flag_overdue(make_task(TaskKind.HOUSING, TaskStatus.COMPLETED), task.due_at) is None


def test_reminders_a_late_worker_skips_are_named_by_when_they_fell_due() -> None:
    policy = EscalationPolicy(
        id="p",
        name="p",
        levels=(
            EscalationLevel(
                wait=timedelta(days=1), business_time=False, reach_on_call_now=True,
                repeat_every=timedelta(hours=1),
            ),
            EscalationLevel(wait=timedelta(days=1)),
        ),
    )  # fmt: skip
    state = start_escalation(policy, NOW)
    on_time = decide(policy, state, NOW + timedelta(hours=1))
    assert on_time is not None and skipped_reminders(policy, state, on_time) == []
    late = decide(policy, on_time.state, NOW + timedelta(hours=5, minutes=30))
    assert late is not None and late.state.reminders_sent == 5
    assert skipped_reminders(policy, on_time.state, late) == [
        NOW + timedelta(hours=h) for h in (2, 3, 4)
    ]


def receipt_request(channels: tuple[Channel, ...]) -> NotificationRequest:
    return NotificationRequest(
        key="t:new_task:0:0", transition_id="t", task_id="t", task_kind=TaskKind.HOUSING,
        owner_unit_id="bolig", origin_unit_id="dps", municipality_number="3101",
        reason=NotificationReason.NEW_TASK, level=0,
        recipients=(Recipient.OWNER_UNIT,), channels=channels,
    )  # fmt: skip


def failed(channel: Channel, person: str | None) -> DeliveryFailure:
    return DeliveryFailure(person_id=person, unit_id="bolig", channel=channel, error="refused")


def delivered(channel: Channel, person: str | None) -> Delivery:
    return Delivery(person_id=person, unit_id="bolig", channel=channel, sent_at=NOW)


def test_a_failed_email_falls_back_to_in_app_for_that_recipient_only() -> None:
    request = receipt_request((Channel.EMAIL,))
    receipt = NotificationReceipt(
        deliveries=[delivered(Channel.EMAIL, "b")], failures=[failed(Channel.EMAIL, "a")]
    )
    [fallback] = fallbacks(request, receipt)
    assert fallback.request.channels == (Channel.IN_APP,)
    assert fallback.request.only_person_ids == ("a",)
    assert fallback.instead_of == (Channel.EMAIL,)
    assert fallback.request.key == "t:new_task:0:0:fallback-in_app"


def test_no_fallback_for_a_recipient_the_level_reached_in_app() -> None:
    request = receipt_request((Channel.IN_APP, Channel.EMAIL))
    receipt = NotificationReceipt(
        deliveries=[delivered(Channel.IN_APP, "a")], failures=[failed(Channel.EMAIL, "a")]
    )
    assert fallbacks(request, receipt) == []


def test_a_failed_webhook_falls_back_for_everyone_unless_in_app_reached_them() -> None:
    request = receipt_request((Channel.EMAIL, Channel.WEBHOOK))
    webhook_down = failed(Channel.WEBHOOK, None)
    [fallback] = fallbacks(request, NotificationReceipt(deliveries=[], failures=[webhook_down]))
    assert fallback.request.channels == (Channel.IN_APP,)
    assert fallback.request.only_person_ids == ()  # everyone the level names
    email_down = failed(Channel.EMAIL, "a")  # the next channel the level has: the webhook
    [to_webhook] = fallbacks(request, NotificationReceipt(deliveries=[], failures=[email_down]))
    assert to_webhook.request.channels == (Channel.WEBHOOK,)


def test_only_the_lar_side_of_the_origin_unit_may_withdraw_or_revise() -> None:
    tsb = frozenset({"tsb"})
    consultant = Actor(person_id="k", roles=frozenset({Role.LAR_CONSULTANT}), unit_ids=tsb)
    contact = Actor(person_id="c", roles=frozenset({Role.MUNICIPAL_CONTACT}), unit_ids=tsb)
    assert proposer_refusal(consultant, "tsb") is None
    assert "LAR consultant or physician" in (proposer_refusal(contact, "tsb") or "")
    assert "unit other" in (proposer_refusal(consultant, "other") or "")
