"""The after-hours rule on the running stack: a wait that runs out while the owner unit is
closed escalates when it opens. The unit's office hours are set to open a few seconds from now,
so the rule is exercised in real time by the real workflow, timers and read model."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update

from domain.calendar import BusinessCalendar, OfficeHours
from domain.escalation import Channel, EscalationLevel, Recipient
from store.database import Database
from store.tables import Unit

from factories import DirectoryFactory
from polling import eventually

OSLO = ZoneInfo("Europe/Oslo")
OPENS_IN = timedelta(seconds=8)


def levels(on_call: bool) -> list[dict[str, Any]]:
    first = EscalationLevel(
        wait=timedelta(seconds=1),
        business_time=False,
        reach_on_call_now=on_call,
        notify=(Recipient.OWNER_UNIT,),
        channels=(Channel.IN_APP,),
    )
    second = first.model_copy(update={"wait": timedelta(hours=1), "reach_on_call_now": True})
    return [first.model_dump(mode="json"), second.model_dump(mode="json")]


async def opening_soon(db: Database, unit_id: str) -> BusinessCalendar:
    """Office hours for every day, opening OPENS_IN from now and closing at midnight."""
    now = datetime.now(OSLO)
    if (now + OPENS_IN).date() != now.date():
        await asyncio.sleep(OPENS_IN.total_seconds() + 1)  # don't straddle midnight
        now = datetime.now(OSLO)
    hours = OfficeHours(
        weekdays=frozenset(range(7)),
        opens=(now + OPENS_IN).time(),
        closes=time(23, 59, 59),
        observe_public_holidays=False,
    )
    async with db.transaction() as session:
        await session.execute(
            update(Unit).where(Unit.id == unit_id).values(hours=hours.model_dump(mode="json"))
        )
    return BusinessCalendar(hours)


async def escalation_of(
    http: httpx.AsyncClient, directory: DirectoryFactory
) -> tuple[dict[str, Any], datetime, datetime]:
    """Start a discharge; when its intake escalates: (task, created at, escalated at)."""
    coordinator = directory.headers(directory.identity.coordinator)
    started = await http.post(
        "/api/v1/discharges", json=directory.discharge_body(), headers=coordinator
    )
    assert started.status_code == 201, started.text

    async def escalated() -> dict[str, Any] | None:
        url = f"/api/v1/transitions/{started.json()['id']}"
        body = (await http.get(url, headers=coordinator)).json()
        return body if any(e["kind"] == "escalated" for e in body["timeline"]) else None

    body = await eventually(escalated, timeout=30, what="the escalation")
    events = {e["kind"]: datetime.fromisoformat(e["at"]) for e in reversed(body["timeline"])}
    return body["tasks"][0], events["task_created"], events["escalated"]


async def test_a_wait_due_after_hours_escalates_at_the_next_opening(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    calendar = await opening_soon(db, directory.intake)
    await directory.set_policy(levels(on_call=False), version=2)

    task, created, escalated = await escalation_of(app_client, directory)

    opening = calendar.next_opening(created)
    assert opening > created + timedelta(seconds=1)  # closed when the 1 s wait ran out
    assert datetime.fromisoformat(task["due_at"]) == opening
    assert escalated >= opening
    assert escalated - opening < timedelta(seconds=3)


async def test_an_on_call_level_escalates_after_hours_at_once(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    calendar = await opening_soon(db, directory.intake)
    await directory.set_policy(levels(on_call=True), version=2)

    task, created, escalated = await escalation_of(app_client, directory)

    assert not calendar.is_open(escalated)
    assert datetime.fromisoformat(task["due_at"]) == created + timedelta(seconds=1)
    assert timedelta(seconds=1) <= escalated - created < calendar.next_opening(created) - created
