"""DischargeWorkflow's steps and branches, driven through the HTTP API on the real stack:
intake, meeting, coordinator, LAR, housing/NAV children, utskrivningsklar with overliggedøgn,
discharge with follow-up, a moved date, cancellation, and reject-and-forward."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from domain.calendar import BusinessCalendar
from domain.escalation import EscalationLevel
from foundation.settings import Settings
from overgang.app import attach, create_app
from store.database import Database
from store.tables import NotificationRow

from factories import DirectoryFactory
from polling import eventually

FOLLOW_UP_SECONDS = 3
WAITING_DAY_SECONDS = 1.5


@pytest.fixture(scope="module")
async def http(
    settings: Settings, db: Database, temporal: Client, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the cooperation agreement's periods in seconds (7 days -> 3 s)."""
    quick = settings.model_copy(
        update={
            "follow_up_within": timedelta(seconds=FOLLOW_UP_SECONDS),
            "waiting_day_length": timedelta(seconds=WAITING_DAY_SECONDS),
        }
    )
    app = create_app(quick, database_url=db.url)
    attach(app, db, temporal)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://overgang.test") as client:
        yield client


class Journey:
    """One discharge seen through the API, as the people involved act on it."""

    def __init__(self, http: httpx.AsyncClient, directory: DirectoryFactory) -> None:
        self.http = http
        self.directory = directory
        self.id = ""

    def as_(self, person_id: str) -> dict[str, str]:
        return self.directory.headers(person_id)

    @property
    def coordinator(self) -> dict[str, str]:
        return self.as_(self.directory.identity.coordinator)

    @property
    def contact(self) -> dict[str, str]:
        return self.as_(self.directory.identity.contact)

    async def start(self, **overrides: Any) -> dict[str, Any]:
        body = self.directory.discharge_body(**overrides)
        response = await self.http.post("/api/v1/discharges", json=body, headers=self.coordinator)
        assert response.status_code == 201, response.text
        self.id = response.json()["id"]
        return response.json()

    async def detail(self) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/transitions/{self.id}", headers=self.coordinator)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, headers: dict[str, str], **body: Any) -> httpx.Response:
        return await self.http.post(
            f"/api/v1/transitions/{self.id}{path}", json=body, headers=headers
        )

    async def task_command(
        self, task_id: str, command: str, headers: dict[str, str], **body: Any
    ) -> dict[str, Any]:
        response = await self.http.post(
            f"/api/v1/tasks/{task_id}/{command}", json=body or None, headers=headers
        )
        assert response.status_code == 200, (command, response.text)
        return response.json()

    async def task_of(self, kind: str, status: str | None = None) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            tasks = (await self.detail())["tasks"]
            matching = [t for t in tasks if t["kind"] == kind]
            if status is not None:
                matching = [t for t in matching if t["status"] == status]
            return matching[-1] if matching else None

        return await eventually(found, what=f"a {kind} task ({status or 'any status'})")

    async def events(self, kind: str, at_least: int = 1) -> list[dict[str, Any]]:
        async def found() -> list[dict[str, Any]] | None:
            events = [e for e in (await self.detail())["timeline"] if e["kind"] == kind]
            return events if len(events) >= at_least else None

        return await eventually(found, timeout=30, what=f"{at_least} {kind} event(s)")

    async def status(self, expected: str) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            body = await self.detail()
            return body if body["status"] == expected else None

        return await eventually(reached, timeout=30, what=f"transition {expected}")


async def walk_through(journey: Journey, task_id: str, headers: dict[str, str]) -> None:
    """Acknowledge, accept, start and complete a step as its owner."""
    for command in ("acknowledge", "accept", "start"):
        await journey.task_command(task_id, command, headers)
    await journey.task_command(task_id, "complete", headers, note="done")


async def test_every_step_of_a_discharge_to_completion(
    http: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    housing_contact = await directory.add_person(
        "bolig-kontakt", ["municipal_contact"], directory.housing
    )
    journey = Journey(http, directory)
    started = await journey.start(
        needs={"housing": True, "nav": True, "lar": True, "coordinator": True},
        consents={"share_with_housing_office": True, "share_with_nav": False},
    )
    assert [t["kind"] for t in started["tasks"]] == ["municipal_intake"]
    intake = started["tasks"][0]["id"]

    # Housing goes to the housing office as a child handover; NAV has no consent.
    housing = await journey.task_of("housing")
    assert housing["owner_unit_id"] == directory.housing
    not_sent = await journey.events("handover_not_sent")
    assert not_sent[0]["detail"]["handover_kind"] == "nav"
    lar = await journey.task_of("lar_informed")
    assert lar["owner_unit_id"] == directory.intake  # no LAR unit: the receiving unit has it

    # Utskrivningsklar while the municipality is not ready: overliggedøgn accrue.
    ready = await journey.post("/ready-for-discharge", journey.coordinator)
    assert ready.status_code == 200, ready.text
    await journey.events("waiting_day", at_least=2)

    await journey.task_command(intake, "acknowledge", journey.contact)
    await journey.task_command(intake, "accept", journey.contact)
    meeting = await journey.task_of("cooperation_meeting")
    assert meeting["owner_unit_id"] == directory.dps
    coordinator_step = await journey.task_of("coordinator")

    await walk_through(journey, housing["id"], journey.as_(housing_contact))
    await journey.events("municipality_ready")
    days = len(await journey.events("waiting_day"))
    await journey.events("handover_finished")

    await journey.task_command(lar["id"], "acknowledge", journey.contact)
    await journey.task_of("lar_informed", "completed")

    held = await journey.post(
        "/meeting",
        journey.coordinator,
        held_on=date.today().isoformat(),
        participants=["Kim Koordinator (DPS)", "Kari Kontakt (kommunen)", "pasienten"],
    )
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "completed"
    assert "pasienten" in held.json()["note"]

    outsider = journey.as_(directory.identity.outsider)
    refused = await journey.post("/coordinator", outsider, coordinator_name="Ola")
    assert refused.status_code == 403
    named = await journey.post(
        "/coordinator", journey.contact, coordinator_name="Kari Kontakt", individual_plan=True
    )
    assert named.status_code == 200, named.text
    assert named.json()["id"] == coordinator_step["id"]
    assert "with individual plan" in named.json()["note"]

    discharged = await journey.post("/discharged", journey.coordinator, planned=True)
    assert discharged.status_code == 200, discharged.text
    follow_up = await journey.task_of("follow_up")
    contact = await journey.post(
        "/first-contact", journey.contact, contacted_on=date.today().isoformat()
    )
    assert contact.status_code == 200, contact.text

    body = await journey.status("completed")
    assert {t["status"] for t in body["tasks"]} <= {"completed", "cancelled"}
    assert body["waiting_days"] == days  # no day counted after the municipality was ready
    assert any(c["handover_kind"] == "housing" for c in body["children"])
    assert follow_up["due_at"] > follow_up["created_at"]


async def test_ready_patient_accrues_waiting_days_and_missed_follow_up_escalates(
    http: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    journey = Journey(http, directory)
    await journey.start()
    assert (await journey.post("/ready-for-discharge", journey.coordinator)).status_code == 200
    again = await journey.post("/ready-for-discharge", journey.coordinator)
    assert again.status_code == 409
    assert "declared ready" in again.json()["detail"]

    days = await journey.events("waiting_day", at_least=3)
    assert [e["detail"]["day"] for e in days[:3]] == ["1", "2", "3"]
    assert days[0]["detail"]["rate_nok"] == "5745"  # latest known daily rate (2024)
    assert days[0]["detail"]["meeting_called"] == "false"  # intake not accepted yet

    assert (await journey.post("/discharged", journey.coordinator)).status_code == 200
    missed = await journey.events("follow_up_missed")
    assert missed[0]["detail"]["within"] == "0:00:03"
    follow_up = await journey.task_of("follow_up")
    assert follow_up["escalation_level"] == 2
    counted = len(await journey.events("waiting_day"))

    async def leaders_told() -> list[NotificationRow] | None:
        async with db.transaction() as session:
            rows = await session.scalars(
                select(NotificationRow).where(
                    NotificationRow.transition_id == journey.id,
                    NotificationRow.task_id == follow_up["id"],
                    NotificationRow.reason == "escalation",
                )
            )
            found = list(rows)
        return found or None

    rows = await eventually(leaders_told, what="the missed follow-up reaching the leaders")
    assert directory.identity.municipal_leader in {r.person_id for r in rows}
    detail = await journey.detail()
    assert detail["waiting_days"] == counted  # counting stopped at discharge


async def test_cancel_ends_open_steps_and_the_housing_child(
    http: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    journey = Journey(http, directory)
    await journey.start(needs={"housing": True}, consents={"share_with_housing_office": True})
    await journey.task_of("housing")

    no_reason = await journey.post("/cancel", journey.coordinator, reason="")
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json()["detail"]
    by_municipality = await journey.post("/cancel", journey.contact, reason="flyttet")
    assert by_municipality.status_code == 403

    cancelled = await journey.post("/cancel", journey.coordinator, reason="Pasienten er reinnlagt")
    assert cancelled.status_code == 200, cancelled.text
    body = await journey.status("cancelled")

    async def all_cancelled() -> dict[str, Any] | None:
        detail = await journey.detail()
        children_done = all(c["status"] == "cancelled" for c in detail["children"])
        tasks_done = all(t["status"] == "cancelled" for t in detail["tasks"])
        return detail if children_done and tasks_done and detail["children"] else None

    body = await eventually(all_cancelled, timeout=30, what="steps and child cancelled")
    reasons = {t["reason"] for t in body["tasks"]}
    assert any("reinnlagt" in (r or "") for r in reasons)
    again = await journey.post("/cancel", journey.coordinator, reason="igjen")
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]


async def test_rejected_intake_is_forwarded_with_its_bounce(
    http: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    journey = Journey(http, directory)
    started = await journey.start()
    intake = started["tasks"][0]["id"]
    rejected = await journey.task_command(
        intake,
        "reject",
        journey.contact,
        reason="Pasienten hører til hjemmetjenesten",
        forward_to_unit_id=directory.other_unit,
    )
    assert rejected["status"] == "rejected"

    forwarded = await journey.task_of("municipal_intake", "requested")
    assert forwarded["owner_unit_id"] == directory.other_unit
    assert forwarded["bounce_count"] == 1
    event = (await journey.events("task_forwarded"))[0]
    assert event["detail"]["from_unit_id"] == directory.intake

    outsider = journey.as_(directory.identity.outsider)
    inbox = (await http.get("/api/v1/tasks", headers=outsider)).json()
    assert forwarded["id"] in [item["task"]["id"] for item in inbox]


async def test_moving_the_discharge_date_notifies_and_moves_deadlines(
    http: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    journey = Journey(http, directory)
    await journey.start(needs={"housing": True}, consents={"share_with_housing_office": True})
    housing = await journey.task_of("housing")
    new_date = date.today() + timedelta(days=30)

    past = await journey.post(
        "/expected-discharge-date",
        journey.coordinator,
        expected_discharge_date=(date.today() - timedelta(days=1)).isoformat(),
    )
    assert past.status_code == 409
    assert "in the past" in past.json()["detail"]

    response = await http.patch(
        f"/api/v1/transitions/{journey.id}",
        json={"expected_discharge_date": new_date.isoformat(), "reason": "trenger mer tid"},
        headers=journey.coordinator,
    )
    assert response.status_code == 200, response.text
    changed = (await journey.events("discharge_date_changed"))[0]
    assert changed["detail"]["new"] == new_date.isoformat()

    async def housing_moved() -> dict[str, Any] | None:
        task = await journey.task_of("housing")
        return task if task["due_at"] != housing["due_at"] else None

    moved = await eventually(housing_moved, what="the housing deadline to move")
    assert moved["due_at"].startswith((new_date - timedelta(days=1)).isoformat())
    assert (await journey.detail())["expected_discharge_date"] == new_date.isoformat()

    async def told() -> list[NotificationRow] | None:
        async with db.transaction() as session:
            rows = await session.scalars(
                select(NotificationRow).where(
                    NotificationRow.transition_id == journey.id,
                    NotificationRow.reason == "date_changed",
                )
            )
            found = list(rows)
        return found or None

    rows = await eventually(told, what="a date-changed notification")
    assert directory.identity.contact in {r.person_id for r in rows}


async def test_housing_without_consent_is_not_sent(
    http: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    journey = Journey(http, directory)
    await journey.start(needs={"housing": True}, consents={"share_with_housing_office": False})
    event = (await journey.events("handover_not_sent"))[0]
    assert event["detail"]["handover_kind"] == "housing"
    assert "consent" in event["detail"]["reason"]
    assert (await journey.detail())["children"] == []


async def test_housing_starts_eight_weeks_ahead_and_follows_a_moved_date(
    http: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    journey = Journey(http, directory)
    far = date.today() + timedelta(weeks=12)
    await journey.start(
        expected_discharge_date=far.isoformat(),
        needs={"housing": True},
        consents={"share_with_housing_office": True},
    )
    scheduled = (await journey.events("handover_scheduled"))[0]
    assert scheduled["detail"]["starts_at"].startswith(
        (far - timedelta(weeks=8) - timedelta(days=1)).isoformat()
    )
    assert [t for t in (await journey.detail())["tasks"] if t["kind"] == "housing"] == []

    near = date.today() + timedelta(days=10)
    moved = await journey.post(
        "/expected-discharge-date", journey.coordinator, expected_discharge_date=near.isoformat()
    )
    assert moved.status_code == 200, moved.text
    housing = await journey.task_of("housing")  # now inside the 8 weeks: it starts at once
    assert housing["due_at"].startswith((near - timedelta(days=1)).isoformat())
    started = (await journey.events("handover_started"))[0]
    assert started["detail"]["handover_kind"] == "housing"


async def test_business_time_policy_computes_deadlines_inside_the_workflow(
    http: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    """The default kind of policy (office hours, holidays) works in the workflow sandbox."""
    level = EscalationLevel(wait=timedelta(hours=4))  # business time in office hours
    await directory.set_policy([level.model_dump(mode="json")], version=2)
    journey = Journey(http, directory)
    started = await journey.start()
    [intake] = started["tasks"]
    created = datetime.fromisoformat(intake["created_at"])
    due = datetime.fromisoformat(intake["due_at"])
    assert due - created >= timedelta(hours=4)  # never sooner than four working hours
    assert BusinessCalendar().is_open(due - timedelta(seconds=1))
