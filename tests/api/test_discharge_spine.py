"""The first transition, all the way through the HTTP API on real PostgreSQL and Temporal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from virtual_stack import VirtualStack

from store.database import Database
from store.tables import NotificationRow

from factories import DirectoryFactory, fast_levels, start_discharge, transition_detail
from polling import eventually


async def test_start_inbox_acknowledge_and_see_state(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    started = await start_discharge(app_client, directory)
    [intake] = started["tasks"]
    assert intake["kind"] == "municipal_intake"
    assert intake["owner_unit_id"] == directory.intake
    assert intake["status"] == "requested"

    contact = directory.headers(directory.identity.contact)
    inbox = (await app_client.get("/api/v1/tasks", headers=contact)).json()
    assert [item["task"]["id"] for item in inbox] == [intake["id"]]
    assert inbox[0]["what_matters"].startswith("Å ha et sted å bo")

    acknowledged = await app_client.post(
        f"/api/v1/tasks/{intake['id']}/acknowledge", headers=contact
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "received"
    assert acknowledged.json()["acknowledged_by"] == directory.identity.contact

    detail = await app_client.get(
        f"/api/v1/transitions/{started['id']}",
        headers=directory.headers(directory.identity.coordinator),
    )
    assert detail.status_code == 200
    body = detail.json()
    assert body["tasks"][0]["status"] == "received"
    assert body["tasks"][0]["next_escalation_at"] is None
    kinds = [event["kind"] for event in body["timeline"]]
    assert kinds[:2] == ["transition_started", "task_created"]
    assert "task_acknowledged" in kinds


async def test_second_acknowledgement_is_refused_with_the_reason(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    contact = directory.headers(directory.identity.contact)
    assert (
        await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=contact)
    ).status_code == 200

    again = await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=contact)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert "already acknowledged" in again.json()["detail"]


async def task_of_kind(
    http: httpx.AsyncClient, directory: DirectoryFactory, transition_id: str, kind: str
) -> dict[str, Any]:
    async def opened() -> dict[str, Any] | None:
        tasks = (await transition_detail(http, directory, transition_id))["tasks"]
        return next((t for t in tasks if t["kind"] == kind), None)

    return await eventually(opened, what=f"a {kind} step")


async def test_unacknowledged_intake_escalates_to_the_next_level(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    await directory.set_policy(fast_levels(seconds=1.5), version=2)
    started = await start_discharge(app_client, directory)
    coordinator = directory.headers(directory.identity.coordinator)

    async def escalated() -> dict[str, Any] | None:
        body = (
            await app_client.get(f"/api/v1/transitions/{started['id']}", headers=coordinator)
        ).json()
        events = [e for e in body["timeline"] if e["kind"] == "escalated"]
        return body if events else None

    body = await eventually(escalated, timeout=20, what="an escalation in the timeline")
    event = next(e for e in body["timeline"] if e["kind"] == "escalated")
    assert event["detail"]["level"] == "1"
    assert body["tasks"][0]["escalation_level"] >= 1

    async def leader_notified() -> list[NotificationRow]:
        async with db.transaction() as session:
            rows = await session.scalars(
                select(NotificationRow).where(
                    NotificationRow.transition_id == started["id"],
                    NotificationRow.reason == "escalation",
                )
            )
            return list(rows)

    rows = await eventually(leader_notified, what="escalation notifications")
    assert {directory.identity.backup, directory.identity.unit_leader} <= {
        r.person_id for r in rows
    }


async def test_acknowledgement_stops_escalation(
    virtual: VirtualStack, directory: DirectoryFactory
) -> None:
    """Kvittering ends the chain. Beside the acknowledged intake, a step under the same
    policy that nobody acknowledges escalates on time: the clock ran past every level."""
    started = await start_discharge(virtual.http, directory, needs={"lar": True})
    intake = started["tasks"][0]
    contact = directory.headers(directory.identity.contact)
    acknowledged = await virtual.http.post(
        f"/api/v1/tasks/{intake['id']}/acknowledge", headers=contact
    )
    assert acknowledged.status_code == 200, acknowledged.text
    lar = await task_of_kind(virtual.http, directory, started["id"], "lar_informed")

    await virtual.advance(timedelta(hours=3, minutes=30))  # past both later levels of 1 h

    body = await transition_detail(virtual.http, directory, started["id"])
    escalated = [e for e in body["timeline"] if e["kind"] == "escalated"]
    assert [(e["task_id"], e["detail"]["level"]) for e in escalated] == [
        (lar["id"], "1"),
        (lar["id"], "2"),
    ]
    [intake_now] = [t for t in body["tasks"] if t["id"] == intake["id"]]
    assert intake_now["escalation_level"] == 0
    assert intake_now["next_escalation_at"] is None


async def test_bad_input_names_the_field(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    coordinator = directory.headers(directory.identity.coordinator)
    cases = {
        "patient.fodselsnummer": directory.discharge_body(
            patient={"fodselsnummer": "12345678901", "name": "X"}
        ),
        "municipality_number": directory.discharge_body(municipality_number="3199"),
        "expected_discharge_date": directory.discharge_body(
            expected_discharge_date=(date.today() - timedelta(days=2)).isoformat()
        ),
    }
    for field, body in cases.items():
        response = await app_client.post("/api/v1/discharges", json=body, headers=coordinator)
        assert response.status_code == 422, (field, response.text)
        problem = response.json()
        assert field in [error["field"] for error in problem["errors"]], problem
        assert field in problem["detail"]


async def test_only_the_owner_unit_may_acknowledge(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    response = await app_client.post(
        f"/api/v1/tasks/{task_id}/acknowledge",
        headers=directory.headers(directory.identity.outsider),
    )
    assert response.status_code == 403
    assert directory.intake in response.json()["detail"]


async def test_requests_without_a_token_are_refused(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    response = await app_client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


async def test_business_hours_policy_sets_a_deadline_inside_office_hours(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    """The demo's kind of policy: waits in business hours (holidays looked up in the workflow)."""
    from datetime import datetime

    from domain.calendar import OSLO

    levels = fast_levels(seconds=4 * 3600)
    for level in levels:
        level.update(business_time=True, reach_on_call_now=False)
    await directory.set_policy(levels, version=2)
    started = await start_discharge(app_client, directory)
    due = datetime.fromisoformat(started["tasks"][0]["due_at"]).astimezone(OSLO)
    assert due.weekday() < 5
    assert (8, 0) <= (due.hour, due.minute) <= (15, 30)
