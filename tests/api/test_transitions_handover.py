"""HandoverWorkflow through the API: the double bounce (skyveproblematikk) escalating to the
leaders, and the bulk portfolio transfer whose retry starts nothing twice."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client

from store.database import Database
from store.tables import NotificationRow

from factories import DirectoryFactory, make_fodselsnummer
from polling import eventually


async def detail(
    http: httpx.AsyncClient, directory: DirectoryFactory, transition_id: str
) -> dict[str, Any]:
    headers = directory.headers(directory.identity.coordinator)
    response = await http.get(f"/api/v1/transitions/{transition_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def open_housing_task(
    http: httpx.AsyncClient, directory: DirectoryFactory, transition_id: str, owner: str
) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        tasks = (await detail(http, directory, transition_id))["tasks"]
        return next(
            (t for t in tasks if t["kind"] == "housing" and t["owner_unit_id"] == owner), None
        )

    return await eventually(found, what=f"a housing task at {owner}")


async def reject_and_forward(
    http: httpx.AsyncClient, headers: dict[str, str], task_id: str, to_unit: str
) -> None:
    response = await http.post(
        f"/api/v1/tasks/{task_id}/reject",
        json={"reason": "Ikke vårt ansvar", "forward_to_unit_id": to_unit},
        headers=headers,
    )
    assert response.status_code == 200, response.text


async def test_second_bounce_escalates_to_the_leaders_of_the_units_involved(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, temporal: Client
) -> None:
    housing_contact = await directory.add_person("bolig", ["municipal_contact"], directory.housing)
    nav_contact = await directory.add_person("nav", ["municipal_contact"], directory.nav)
    # The housing step bounces via NAV: the patient consented to both (without NAV's consent
    # the NAV office may neither read nor act on the step it is handed: domain.access).
    body = directory.discharge_body(
        needs={"housing": True},
        consents={"share_with_housing_office": True, "share_with_nav": True},
    )
    started = await app_client.post(
        "/api/v1/discharges", json=body, headers=directory.headers(directory.identity.coordinator)
    )
    assert started.status_code == 201, started.text
    transition_id = started.json()["id"]

    first = await open_housing_task(app_client, directory, transition_id, directory.housing)
    await reject_and_forward(
        app_client, directory.headers(housing_contact), first["id"], directory.nav
    )
    second = await open_housing_task(app_client, directory, transition_id, directory.nav)
    assert second["bounce_count"] == 1
    assert second["escalation_level"] == 0  # one bounce is not yet skyveproblematikk

    await reject_and_forward(
        app_client, directory.headers(nav_contact), second["id"], directory.other_unit
    )
    third = await open_housing_task(app_client, directory, transition_id, directory.other_unit)
    assert third["bounce_count"] == 2

    async def escalated() -> dict[str, Any] | None:
        timeline = (await detail(app_client, directory, transition_id))["timeline"]
        return next((e for e in timeline if e["kind"] == "bounce_escalated"), None)

    event = await eventually(escalated, what="the double bounce in the parent's timeline")
    assert event["detail"]["units"].split(",") == [
        directory.housing,
        directory.nav,
        directory.other_unit,
    ]
    assert event["transition_id"] != transition_id  # recorded by the child, shown here

    async def leaders_told() -> list[NotificationRow] | None:
        async with db.transaction() as session:
            rows = await session.scalars(
                select(NotificationRow).where(
                    NotificationRow.task_id == third["id"], NotificationRow.reason == "bounced"
                )
            )
            found = list(rows)
        return found or None

    rows = await eventually(leaders_told, what="bounce notifications to the leaders")
    assert {r.person_id for r in rows} == {directory.identity.unit_leader}

    child_id = event["transition_id"]
    query = 'EscalationLevel > 0 AND BounceCount >= 2 AND TransitionKind = "handover"'

    async def listed() -> bool:
        ids = [w.id async for w in temporal.list_workflows(query)]
        return f"handover-{child_id}" in ids

    await eventually(listed, timeout=30, what="the bounced handover in the visibility list")


def transfer_body(directory: DirectoryFactory, patients: int) -> dict[str, Any]:
    return {
        "origin_unit_id": directory.dps,
        "municipality_number": directory.number,
        "reason": "Behandler slutter",
        "patients": [
            {
                "patient": {"fodselsnummer": make_fodselsnummer(), "name": f"Pasient {i}"},
                "what_matters": "Å beholde kontakten med noen jeg kjenner.",
            }
            for i in range(patients)
        ],
    }


async def test_portfolio_transfer_retry_starts_nothing_twice(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    coordinator = directory.headers(directory.identity.coordinator)
    body = transfer_body(directory, patients=4)
    key = {"Idempotency-Key": f"portefolje-{uuid.uuid4()}"}

    first = await app_client.post(
        "/api/v1/portfolio-transfers", json=body, headers=coordinator | key
    )
    assert first.status_code == 202, first.text
    assert (first.json()["started"], first.json()["already_running"]) == (4, 0)

    retry = await app_client.post(
        "/api/v1/portfolio-transfers", json=body, headers=coordinator | key
    )
    assert retry.status_code == 202, retry.text
    assert (retry.json()["started"], retry.json()["already_running"]) == (0, 4)
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["transition_ids"] == first.json()["transition_ids"]

    transfer_id = first.json()["id"]

    async def all_registered() -> dict[str, Any] | None:
        response = await app_client.get(
            f"/api/v1/portfolio-transfers/{transfer_id}", headers=coordinator
        )
        progress = response.json() if response.status_code == 200 else None
        if progress is None or progress["registered"] != 4:
            return None
        return progress if sum(progress["by_task_status"].values()) == 4 else None

    progress = await eventually(all_registered, what="all four handovers registered")
    assert progress["total"] == 4
    assert progress["by_task_status"] == {"requested": 4}

    contact = directory.headers(directory.identity.contact)
    inbox = (await app_client.get("/api/v1/tasks", headers=contact)).json()
    handover_ids = {i["task"]["id"] for i in inbox if i["task"]["kind"] == "handover"}
    assert len(handover_ids) == 4  # one per patient, none twice

    task_id = progress["handovers"][0]
    first_task = next(
        i["task"] for i in inbox if i["task"]["transition_id"] == task_id["transition_id"]
    )
    for command in ("acknowledge", "accept"):
        response = await app_client.post(
            f"/api/v1/tasks/{first_task['id']}/{command}", headers=contact
        )
        assert response.status_code == 200, response.text

    async def one_accepted() -> dict[str, Any] | None:
        response = await app_client.get(
            f"/api/v1/portfolio-transfers/{transfer_id}", headers=coordinator
        )
        progress = response.json()
        return progress if progress["by_task_status"].get("accepted") == 1 else None

    await eventually(one_accepted, what="progress to show the accepted handover")


async def test_portfolio_transfer_needs_an_idempotency_key(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    response = await app_client.post(
        "/api/v1/portfolio-transfers",
        json=transfer_body(directory, patients=1),
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 422
    assert "idempotency-key" in response.text.lower()
