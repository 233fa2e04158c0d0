"""DischargeWorkflow's own timers in virtual time: the waiting-day counter across the change
from summer time, the housing handover that starts eight weeks before a discharge date that
moves, the follow-up that escalates when no first contact is made within seven days, and a
continue-as-new in the middle of an escalation that neither repeats nor loses a level."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from domain.calendar import OSLO
from domain.commands import AcceptTask, AcknowledgeTask
from domain.discharge import (
    ChangeDischargeDate,
    Consents,
    MarkDischarged,
    MarkReady,
    Needs,
    start_of_day,
)

from polling import eventually
from virtual_time import DischargeWorkflow, VirtualStack, clock_levels, oslo, transition_id

HOUR = 60
MONTH = 30 * 24 * HOUR


async def accept_intake(virtual: VirtualStack, handle: WorkflowHandle[Any, Any]) -> None:
    intake = next(
        t for t in (await handle.query(DischargeWorkflow.view)).tasks
        if t.kind.value == "municipal_intake"
    )  # fmt: skip
    contact = virtual.people.contact
    ack = AcknowledgeTask(task_id=intake.id, actor=contact)
    await handle.execute_update(DischargeWorkflow.acknowledge, ack)
    accept = AcceptTask(task_id=intake.id, actor=contact)
    await handle.execute_update(DischargeWorkflow.accept, accept)


async def test_waiting_days_are_counted_every_24_hours_across_the_change_from_summer_time(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    ready_at = oslo(date(2027, 10, 29), 10)  # Friday; the clocks go back on Sunday
    await virtual.advance_to(ready_at)
    handle = await virtual.start_discharge(date(2027, 11, 20))
    tid = transition_id(handle)
    await handle.execute_update(
        DischargeWorkflow.mark_ready, MarkReady(actor=virtual.people.coordinator)
    )
    await virtual.advance_to(ready_at + timedelta(days=3, hours=1))
    days = await virtual.event(tid, "waiting_day", count=4)
    assert [int(d.detail["day"]) for d in days] == [1, 2, 3, 4]
    began = [datetime.fromisoformat(d.detail["began_at"]) for d in days]
    assert [b - began[0] for b in began] == [timedelta(days=n) for n in range(4)]
    assert all(b <= d.at < b + timedelta(seconds=1) for b, d in zip(began, days, strict=True))
    # Counted in elapsed time: after the change, the day begins at 09:00 on the wall clock.
    assert began[3].astimezone(OSLO).hour == 9

    await accept_intake(virtual, handle)  # the municipality is ready: counting stops
    await virtual.advance(timedelta(days=3))
    await virtual.settled(handle)
    assert len(await virtual.events(tid, "waiting_day")) == 4
    assert await handle.query(DischargeWorkflow.waiting_day_count) == 4


async def test_housing_starts_eight_weeks_before_the_discharge_date_as_the_date_moves(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    today = (await virtual.now()).astimezone(OSLO).date()
    expected = today + timedelta(weeks=10)
    handle = await virtual.start_discharge(
        expected, needs=Needs(housing=True), consents=Consents(share_with_housing_office=True)
    )
    tid = transition_id(handle)
    later = expected + timedelta(weeks=1)
    await handle.execute_update(
        DischargeWorkflow.change_discharge_date,
        ChangeDischargeDate(actor=virtual.people.coordinator, expected_discharge_date=later),
    )
    starts_at = start_of_day(later) - timedelta(weeks=8)
    await virtual.advance_to(start_of_day(expected) - timedelta(weeks=8, minutes=-1))
    await virtual.settled(handle)
    assert await virtual.events(tid, "handover_started") == []
    await virtual.advance_to(starts_at + timedelta(minutes=1))
    [started] = await virtual.event(tid, "handover_started")
    assert starts_at <= started.at < starts_at + timedelta(seconds=1)
    scheduled = await virtual.events(tid, "handover_scheduled")
    assert [s.detail["starts_at"] for s in scheduled][-1] == starts_at.isoformat()


async def test_no_first_contact_within_seven_days_escalates_to_the_last_level(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH, MONTH))
    handle = await virtual.start_discharge((await virtual.now()).date() + timedelta(days=2))
    tid = transition_id(handle)
    await accept_intake(virtual, handle)
    await handle.execute_update(
        DischargeWorkflow.mark_discharged, MarkDischarged(actor=virtual.people.coordinator)
    )
    [follow_up] = [t for t in await virtual.tasks(tid) if t.kind == "follow_up"]
    await virtual.advance_to(follow_up.due_at - timedelta(minutes=1))
    await virtual.settled(handle)
    assert await virtual.events(tid, "follow_up_missed") == []
    await virtual.advance_to(follow_up.due_at + timedelta(minutes=1))
    [missed] = await virtual.event(tid, "follow_up_missed")
    assert follow_up.due_at <= missed.at < follow_up.due_at + timedelta(seconds=1)
    [discharged] = await virtual.events(tid, "discharged")
    assert follow_up.due_at - discharged.at == timedelta(days=7)
    identity = virtual.directory.identity
    leaders = {identity.municipal_leader, identity.origin_leader}

    async def leaders_told() -> bool:
        notices = await virtual.notifications(tid)
        told = {n.person_id for n in notices if n.reason == "escalation" and n.level == 2}
        return told == leaders

    await eventually(leaders_told, timeout=30, what="the leaders told of the missed follow-up")


async def test_continue_as_new_in_the_middle_of_an_escalation_loses_and_repeats_nothing(
    virtual: VirtualStack,
) -> None:
    levels = clock_levels(HOUR, HOUR, HOUR)
    levels[2]["repeat_every"] = "PT30M"  # the last level reminds every half hour
    await virtual.use_policy(levels)
    handle = await virtual.start_discharge((await virtual.now()).date() + timedelta(days=30))
    tid = transition_id(handle)
    [intake] = await virtual.tasks(tid)
    first_run = (await virtual.description(handle)).workflow_execution_info.execution.run_id
    await virtual.advance_to(intake.created_at + timedelta(minutes=61))
    [level_1] = await virtual.event(tid, "escalated")

    await handle.signal(DischargeWorkflow.continue_as_new_now)

    async def new_run() -> bool:
        info = (await virtual.description(handle)).workflow_execution_info
        return info.execution.run_id != first_run

    await eventually(new_run, timeout=30, what="the next run")
    await virtual.advance_to(intake.created_at + timedelta(minutes=121))
    escalated = await virtual.event(tid, "escalated", count=2)
    assert [int(e.detail["level"]) for e in escalated] == [1, 2]
    assert escalated[1].at - level_1.at < timedelta(hours=1, seconds=1)
    await virtual.advance_to(intake.created_at + timedelta(minutes=121 + 65))
    reminded = await virtual.event(tid, "reminded", count=2)
    assert [e.detail["level"] for e in reminded] == ["2", "2"]
    assert len(await virtual.events(tid, "task_overdue")) == 1  # flagged once, across runs
    await virtual.settled(handle)
    d = virtual.directory.identity
    notices = [(n.reason, n.level, n.person_id) for n in await virtual.notifications(tid)]
    escalations = sorted(n for n in notices if n[0] == "escalation")
    assert escalations == sorted(
        [
            ("escalation", 1, d.backup),
            ("escalation", 1, d.unit_leader),
            ("escalation", 2, d.municipal_leader),
            ("escalation", 2, d.origin_leader),
        ]
    )  # each level once, across the runs
    assert sum(n[0] == "reminder" for n in notices) == 2 * len(reminded)


async def test_an_intake_accepted_after_the_patient_left_is_done_at_once(
    virtual: VirtualStack,
) -> None:
    """The patient leaves before the municipality has accepted; its later acceptance means it
    has received the patient, so the step is done (not left open for ever) and no cooperation
    meeting opens for a patient who is already out."""
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    handle = await virtual.start_discharge((await virtual.now()).date() + timedelta(days=2))
    view = await handle.query(DischargeWorkflow.view)
    intake = next(t for t in view.tasks if t.kind.value == "municipal_intake")
    contact = virtual.people.contact
    await handle.execute_update(
        DischargeWorkflow.acknowledge, AcknowledgeTask(task_id=intake.id, actor=contact)
    )
    await handle.execute_update(
        DischargeWorkflow.mark_discharged,
        MarkDischarged(actor=virtual.people.coordinator, planned=False),
    )
    accepted = await handle.execute_update(
        DischargeWorkflow.accept, AcceptTask(task_id=intake.id, actor=contact)
    )
    assert accepted.status.value == "accepted"  # what the municipality did, as it did it

    tasks = {t.kind.value: t for t in (await handle.query(DischargeWorkflow.view)).tasks}
    assert tasks["municipal_intake"].status.value == "completed"
    assert tasks["municipal_intake"].business_status == "patient received"
    assert "cooperation_meeting" not in tasks
