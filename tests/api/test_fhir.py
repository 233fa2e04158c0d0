"""The FHIR R4 facade: Task search and read, every resource validated with fhir.resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task
from sqlalchemy import update

from store.database import Database
from store.tables import Transition, Unit

from factories import DirectoryFactory
from polling import eventually

# FHIR R4 TaskStatus value set (fhir.resources checks structure, not code values).
TASK_STATUSES = {
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
}
HER_ID = "8099123"


async def _started(
    http: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> tuple[dict[str, Any], str, str]:
    """A discharge whose intake unit has a HER-id; returns (answer, patient id, fnr)."""
    async with db.transaction() as session:
        await session.execute(update(Unit).where(Unit.id == directory.intake).values(her_id=HER_ID))
    body = directory.discharge_body()
    response = await http.post(
        "/api/v1/discharges", json=body, headers=directory.headers(directory.identity.coordinator)
    )
    assert response.status_code == 201, response.text
    started = response.json()

    async def patient() -> str | None:
        async with db.transaction() as session:
            row = await session.get(Transition, started["id"])
            return row.patient_id if row else None

    patient_id = await eventually(patient, what="the transition in the read model")
    return started, patient_id, body["patient"]["fodselsnummer"]


def _valid_task(resource: dict[str, Any]) -> Task:
    task = Task.model_validate(resource)
    assert task.status in TASK_STATUSES
    return task


async def test_search_returns_a_valid_searchset_of_the_owners_tasks(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    started, patient_id, fodselsnummer = await _started(app_client, directory, db)
    contact = directory.headers(directory.identity.contact)
    response = await app_client.get(
        f"/fhir/r4/Task?owner=Organization/{directory.intake}&status=requested,received",
        headers=contact,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert fodselsnummer not in response.text
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset"
    assert bundle.total == len(bundle.entry or []) == 1
    resource = response.json()["entry"][0]["resource"]
    task = _valid_task(resource)
    intake = started["tasks"][0]
    assert task.id == intake["id"]
    assert task.status == "requested"
    assert task.for_fhir.reference == f"Patient/{patient_id}"
    assert task.owner.reference == f"Organization/{directory.intake}"
    assert task.owner.identifier.system == "urn:oid:2.16.578.1.12.4.1.2"
    assert task.owner.identifier.value == HER_ID
    assert task.restriction.period.end == datetime.fromisoformat(intake["due_at"])
    assert task.basedOn[0].reference == f"ServiceRequest/{started['id']}"
    assert task.focus.reference == f"ServiceRequest/{started['id']}"


async def test_status_follows_the_workflow_and_filters_the_search(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    started, _, _ = await _started(app_client, directory, db)
    task_id = started["tasks"][0]["id"]
    contact = directory.headers(directory.identity.contact)
    ack = await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=contact)
    assert ack.status_code == 200

    async def received() -> dict[str, Any] | None:
        read = await app_client.get(f"/fhir/r4/Task/{task_id}", headers=contact)
        assert read.status_code == 200, read.text
        return read.json() if read.json()["status"] == "received" else None

    resource = await eventually(received, what="the Task to be received")
    _valid_task(resource)
    requested = await app_client.get(
        f"/fhir/r4/Task?owner={directory.intake}&status=requested", headers=contact
    )
    Bundle.model_validate(requested.json())
    assert task_id not in {e["resource"]["id"] for e in requested.json().get("entry", [])}


async def test_leaders_search_across_their_municipality(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    started, _, _ = await _started(app_client, directory, db)
    leader = directory.headers(directory.identity.municipal_leader)
    response = await app_client.get("/fhir/r4/Task?_count=500", headers=leader)
    bundle = response.json()
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        _valid_task(entry["resource"])
    assert started["tasks"][0]["id"] in {e["resource"]["id"] for e in bundle["entry"]}


async def test_same_authorization_as_the_api(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    started, _, _ = await _started(app_client, directory, db)
    outsider = directory.headers(directory.identity.outsider)
    read = await app_client.get(f"/fhir/r4/Task/{started['tasks'][0]['id']}", headers=outsider)
    assert read.status_code == 403
    assert "no relation" in read.json()["detail"]
    search = await app_client.get(f"/fhir/r4/Task?owner={directory.intake}", headers=outsider)
    assert search.status_code == 200
    assert search.json()["total"] == 0
    assert (await app_client.get("/fhir/r4/Task")).status_code == 401


async def test_bad_search_parameters_name_the_field(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    contact = directory.headers(directory.identity.contact)
    response = await app_client.get("/fhir/r4/Task?status=done", headers=contact)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "status"
    missing = await app_client.get("/fhir/r4/Task/no-such-task", headers=contact)
    assert missing.status_code == 404


async def test_a_search_parameter_we_do_not_apply_is_refused_not_ignored(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    """`Task?patient=Patient/X` used to answer 200 with the caller's tasks of every patient
    (and a self link claiming the filter): a client would file them under patient X."""
    started, patient_id, _ = await _started(app_client, directory, db)
    other, _, _ = await _started(app_client, directory, db)
    contact = directory.headers(directory.identity.contact)
    for name, value in (
        ("patient", f"Patient/{patient_id}"),
        ("subject", f"Patient/{patient_id}"),
        ("_id", started["tasks"][0]["id"]),
        ("based-on", f"ServiceRequest/{started['id']}"),
    ):
        response = await app_client.get(f"/fhir/r4/Task?{name}={value}", headers=contact)
        assert response.status_code == 422, (name, response.text[:300])
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == name
        assert other["tasks"][0]["id"] not in response.text
    applied = await app_client.get(
        f"/fhir/r4/Task?owner={directory.intake}&_count=5", headers=contact
    )
    assert applied.status_code == 200, "the parameters we apply still work"
