"""Escalation in business time, in virtual time: the municipality's 4 business hours run in
the owner unit's office hours (08:00-15:30, Monday to Friday, Norwegian public holidays
closed), over weekends, Easter, Christmas and the change to and from summer time; reminders
and escalations fire at the instant the policy gives, and absent contacts are stood in for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from store.absences import AbsenceRow

from virtual_time import VirtualStack, business_levels, oslo, transition_id

ON_TIME = timedelta(seconds=1)  # an escalation fires within 1 s of virtual time of its instant


async def intake_escalations(
    virtual: VirtualStack, started_at: datetime, expected: list[datetime]
) -> list[Any]:
    """Start a discharge at `started_at` and let the intake go unacknowledged past each
    expected escalation instant; returns the escalation events, checked against them."""
    await virtual.use_policy(business_levels(4, 4, 8))
    await virtual.advance_to(started_at)
    handle = await virtual.start_discharge(started_at.date() + timedelta(days=30))
    tid = transition_id(handle)
    [intake] = await virtual.tasks(tid)
    # Virtual time runs on while the start is handled: shift by the step's real start.
    late = intake.created_at - started_at
    assert timedelta(0) <= late < timedelta(seconds=5)
    expected = [at + late for at in expected]
    assert intake.due_at == expected[0]  # the acknowledgement deadline is level 0's end
    for level, at in enumerate(expected, start=1):
        await virtual.advance_to(at - timedelta(minutes=1))
        await virtual.settled(handle)
        assert len(await virtual.events(tid, "escalated")) == level - 1, f"level {level} early"
        await virtual.advance_to(at + timedelta(minutes=1))
        fired = await virtual.event(tid, "escalated", count=level)
        assert at <= fired[-1].at < at + ON_TIME, (level, fired[-1].at, at)
    return await virtual.events(tid, "escalated")


async def test_four_business_hours_from_friday_afternoon_end_monday_morning(
    virtual: VirtualStack,
) -> None:
    friday = date(2026, 12, 4)
    monday = friday + timedelta(days=3)
    # 1.5 h on Friday (14:00-15:30), 2.5 h on Monday; then 4 h more; the last level has no end.
    expected = [oslo(monday, 10, 30), oslo(monday, 14, 30)]
    await intake_escalations(virtual, oslo(friday, 14), expected)


async def test_christmas_days_are_closed_but_christmas_eve_is_a_working_day(
    virtual: VirtualStack,
) -> None:
    eve = date(2026, 12, 24)  # a Thursday; 25 and 26 December are public holidays
    monday = date(2026, 12, 28)
    await intake_escalations(virtual, oslo(eve, 14), [oslo(monday, 10, 30), oslo(monday, 14, 30)])


async def test_easter_and_the_change_to_summer_time_fall_in_one_closed_stretch(
    virtual: VirtualStack,
) -> None:
    # Wednesday before Easter 2027: Maundy Thursday to Easter Monday are closed, and the
    # clocks go forward on Easter Sunday (28 March): Tuesday 09:30 is 07:30 UTC, not 08:30.
    wednesday = date(2027, 3, 24)
    tuesday = date(2027, 3, 30)
    [first, _] = await intake_escalations(
        virtual, oslo(wednesday, 13), [oslo(tuesday, 9, 30), oslo(tuesday, 13, 30)]
    )
    assert first.at.astimezone(UTC).hour == 7  # 09:30 CEST


async def test_the_change_from_summer_time_moves_monday_morning_by_an_hour_in_utc(
    virtual: VirtualStack,
) -> None:
    friday = date(2027, 10, 29)  # the clocks go back on Sunday 31 October
    monday = date(2027, 11, 1)
    [first, _] = await intake_escalations(
        virtual, oslo(friday, 14), [oslo(monday, 10, 30), oslo(monday, 14, 30)]
    )
    assert first.at.astimezone(UTC).hour == 9  # 10:30 CET; the Friday was in CEST (UTC+2)


async def test_an_absent_contact_is_reached_through_the_substitute(virtual: VirtualStack) -> None:
    d = virtual.directory
    contact, substitute = d.identity.contact, d.identity.backup
    now = datetime.now(UTC)  # the notification activity resolves absences by its own clock
    async with virtual.db.transaction() as session:
        session.add(
            AbsenceRow(
                person_id=contact,
                substitute_id=substitute,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
                reason="ferie",
                created_at=now,
            )
        )
    await virtual.use_policy(business_levels(4, 4, 8))
    handle = await virtual.start_discharge(now.date() + timedelta(days=30))
    tid = transition_id(handle)
    [notice] = await virtual.event(tid, "notified")
    assert notice.detail["person_id"] == substitute
    assert notice.detail["on_behalf_of"] == contact
    rows = await virtual.notifications(tid)
    assert [(n.person_id, n.reason) for n in rows] == [(substitute, "new_task")]
