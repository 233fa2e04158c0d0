"""The after-hours rule on the running stack, in virtual time: a wait that runs out while the
owner unit is closed (a Friday afternoon, the unit's default office hours) escalates when
it opens again, unless the level must reach someone on call now. The real workflow, its
timers and the read model decide; the test only moves the clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from virtual_stack import SLACK, VirtualStack

from domain.calendar import OSLO, BusinessCalendar
from domain.escalation import Channel, EscalationLevel, Recipient

from factories import DirectoryFactory, start_discharge, transition_detail

WAIT = timedelta(hours=1)
FRIDAY = 4


def levels(on_call: bool) -> list[dict[str, Any]]:
    first = EscalationLevel(
        wait=WAIT,
        business_time=False,
        reach_on_call_now=on_call,
        notify=(Recipient.OWNER_UNIT,),
        channels=(Channel.IN_APP,),
    )
    second = first.model_copy(update={"reach_on_call_now": True})
    return [first.model_dump(mode="json"), second.model_dump(mode="json")]


def next_friday_afternoon(now: datetime) -> datetime:
    """Friday 15:00 in Oslo, half an hour before the default closing time, after `now`."""
    day: date = now.astimezone(OSLO).date()
    while True:
        moment = datetime.combine(day, time(15, 0), tzinfo=OSLO)
        if day.weekday() == FRIDAY and moment > now:
            return moment
        day += timedelta(days=1)


async def start_on_friday_afternoon(
    virtual: VirtualStack, directory: DirectoryFactory
) -> tuple[dict[str, Any], datetime]:
    """Start a discharge at Friday 15:00; its intake step and when it was created."""
    await virtual.advance_to(next_friday_afternoon(await virtual.now()))
    started = await start_discharge(virtual.http, directory)
    intake = started["tasks"][0]
    return started, datetime.fromisoformat(intake["created_at"])


async def escalations(
    virtual: VirtualStack, directory: DirectoryFactory, id: str
) -> list[datetime]:
    body = await transition_detail(virtual.http, directory, id)
    return [datetime.fromisoformat(e["at"]) for e in body["timeline"] if e["kind"] == "escalated"]


async def test_a_wait_due_after_hours_escalates_at_the_next_opening(
    virtual: VirtualStack, directory: DirectoryFactory
) -> None:
    await directory.set_policy(levels(on_call=False), version=2)
    started, created = await start_on_friday_afternoon(virtual, directory)

    calendar = BusinessCalendar()
    opening = calendar.next_opening(created + WAIT)
    assert opening - created > timedelta(days=2)  # closed from 15:30 until Monday (or later)
    assert datetime.fromisoformat(started["tasks"][0]["due_at"]) == opening

    await virtual.advance_to(opening - timedelta(minutes=1))
    assert await escalations(virtual, directory, started["id"]) == []
    await virtual.advance_to(opening + timedelta(minutes=10))
    [escalated] = await escalations(virtual, directory, started["id"])
    assert timedelta(0) <= escalated - opening < SLACK


async def test_an_on_call_level_escalates_after_hours_at_once(
    virtual: VirtualStack, directory: DirectoryFactory
) -> None:
    await directory.set_policy(levels(on_call=True), version=2)
    started, created = await start_on_friday_afternoon(virtual, directory)
    due = datetime.fromisoformat(started["tasks"][0]["due_at"])
    assert due == created + WAIT

    await virtual.advance_to(due + timedelta(minutes=10))
    [escalated] = await escalations(virtual, directory, started["id"])
    assert timedelta(0) <= escalated - due < SLACK
    assert not BusinessCalendar().is_open(escalated)
