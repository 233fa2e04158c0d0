"""Patient identity (issue 9, observations 4 and 5): the fødselsnummer identifies the patient;
a different name for a known number is recorded on the new transition and flagged, never
written over other transitions; a second active discharge from the same unit is refused
unless the coordinator starts a new episode."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from foundation.settings import Settings
from overgang.embedded import EmbeddedPostgres
from store.database import Database
from store.migrate import upgrade_async
from store.tables import Transition

from factories import DirectoryFactory, make_fodselsnummer
from polling import eventually


async def _start(
    http: httpx.AsyncClient, directory: DirectoryFactory, *, key: str | None = None, **body: Any
) -> httpx.Response:
    headers = directory.headers(directory.identity.coordinator)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await http.post(
        "/api/v1/discharges", json=directory.discharge_body(**body), headers=headers
    )


async def _names_in_inbox(http: httpx.AsyncClient, directory: DirectoryFactory) -> set[str]:
    inbox = await http.get("/api/v1/tasks", headers=directory.headers(directory.identity.contact))
    assert inbox.status_code == 200, inbox.text
    return {item["patient_name"] for item in inbox.json()}


@pytest.fixture
async def baerum(db: Database, settings: Settings) -> DirectoryFactory:
    other = DirectoryFactory(db, settings)
    await other.create()
    return other


async def test_a_second_discharge_with_another_name_renames_nothing(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    baerum: DirectoryFactory,
    db: Database,
) -> None:
    fodselsnummer = make_fodselsnummer()
    first = await _start(
        app_client, baerum, patient={"fodselsnummer": fodselsnummer, "name": "Kari Hansen"}
    )
    assert first.status_code == 201, first.text

    second = await _start(
        app_client, directory, patient={"fodselsnummer": fodselsnummer, "name": "Kari Olsen"}
    )
    assert second.status_code == 201, second.text
    assert await _names_in_inbox(app_client, baerum) == {"Kari Hansen"}
    assert await _names_in_inbox(app_client, directory) == {"Kari Olsen"}

    [warning] = second.json()["warnings"]
    assert (warning["code"], warning["field"]) == ("patient_name_differs", "patient.name")
    # The coordinator is told to check, not told the name another service recorded.
    assert "Kari Hansen" not in second.text
    async with db.transaction() as session:
        rows = await session.scalars(
            select(Transition).where(Transition.id.in_([first.json()["id"], second.json()["id"]]))
        )
        names = {row.id: row.patient_name for row in rows}
        assert names == {first.json()["id"]: "Kari Hansen", second.json()["id"]: "Kari Olsen"}
    # The pages read the name through the transition's detail (api.transitions.detail).
    for town, started, name in ((baerum, first, "Kari Hansen"), (directory, second, "Kari Olsen")):
        detail = await app_client.get(
            f"/api/v1/transitions/{started.json()['id']}",
            headers=town.headers(town.identity.coordinator),
        )
        assert detail.json()["patient_name"] == name
    assert first.json()["warnings"] == []


async def test_the_same_name_again_is_no_warning(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, baerum: DirectoryFactory
) -> None:
    patient = {"fodselsnummer": make_fodselsnummer(), "name": "Ola Nordmann"}
    assert (await _start(app_client, baerum, patient=patient)).json()["warnings"] == []
    again = await _start(app_client, directory, patient=patient)
    assert again.status_code == 201, again.text
    assert again.json()["warnings"] == []


async def test_a_second_active_discharge_from_the_same_unit_is_refused(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, baerum: DirectoryFactory
) -> None:
    patient = {"fodselsnummer": make_fodselsnummer(), "name": "Per Pasient"}
    key = str(uuid.uuid4())
    first = await _start(app_client, directory, key=key, patient=patient)
    assert first.status_code == 201, first.text
    existing = first.json()["id"]

    second = await _start(app_client, directory, patient=patient)
    assert second.status_code == 409, second.text
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.json()["existing_transition_id"] == existing
    assert existing in second.json()["detail"]
    assert "new_episode" in second.json()["detail"]

    # A retry with the same Idempotency-Key is the same discharge, not a second one.
    retried = await _start(app_client, directory, key=key, patient=patient)
    assert (retried.status_code, retried.json()["id"]) == (201, existing)

    # Another unit's discharge of the same patient is not the same episode.
    elsewhere = await _start(app_client, baerum, patient=patient)
    assert elsewhere.status_code == 201, elsewhere.text

    # The coordinator says explicitly that this is a new episode.
    episode = await _start(app_client, directory, patient=patient, new_episode=True)
    assert episode.status_code == 201, episode.text
    assert episode.json()["id"] != existing


async def test_two_concurrent_starts_of_one_patient_start_one_discharge(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    """Two coordinators press start at once (different keys): one starts, one is told."""
    patient = {"fodselsnummer": make_fodselsnummer(), "name": "Per Pasient"}
    answers = await asyncio.gather(
        *(_start(app_client, directory, key=str(uuid.uuid4()), patient=patient) for _ in range(3))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    [started] = [a.json()["id"] for a in answers if a.status_code == 201]
    assert {a.json()["existing_transition_id"] for a in answers if a.status_code == 409} == {
        started
    }


async def test_a_cancelled_discharge_does_not_block_the_next(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    patient = {"fodselsnummer": make_fodselsnummer(), "name": "Per Pasient"}
    first = await _start(app_client, directory, patient=patient)
    assert first.status_code == 201, first.text
    cancelled = await app_client.post(
        f"/api/v1/transitions/{first.json()['id']}/cancel",
        json={"reason": "Feilregistrert"},
        headers=directory.headers(directory.identity.coordinator),
    )
    assert cancelled.status_code == 200, cancelled.text

    async def settled() -> bool:
        async with db.transaction() as session:
            row = await session.get(Transition, first.json()["id"])
            return row is not None and row.status == "cancelled"

    await eventually(settled, what="the cancelled status in the read model")
    again = await _start(app_client, directory, patient=patient)
    assert again.status_code == 201, again.text


async def test_the_migration_gives_existing_transitions_their_patients_name(
    postgres: EmbeddedPostgres,
) -> None:
    """Rows from before the column get the name the patient row held."""
    name = f"migration_{uuid.uuid4().hex[:8]}"
    postgres._create_database(name)
    url = postgres.sqlalchemy_url(name)
    await upgrade_async(url, "0003")
    database = Database(url, pool_size=1)
    try:
        async with database.transaction() as session:
            for statement in SEED_BEFORE_0004:
                await session.execute(text(statement))
        await upgrade_async(url)
        async with database.transaction() as session:
            found = await session.execute(text("SELECT id, patient_name FROM transitions"))
            assert dict(found.all()) == {"t-1": "Kari Hansen"}
    finally:
        await database.dispose()


SEED_BEFORE_0004 = [
    "INSERT INTO municipalities (number, name) VALUES ('3101', 'Halden')",
    "INSERT INTO units (id, name, kind, municipality_number, hours) "
    "VALUES ('dps-halden', 'DPS Halden', 'dps', '3101', '{}')",
    "INSERT INTO patients (id, fodselsnummer, name, created_at) "
    "VALUES ('p-1', '01019010046', 'Kari Hansen', now())",
    "INSERT INTO transitions (id, kind, workflow_id, patient_id, municipality_number, "
    "origin_unit_id, started_by, status, what_matters, details, started_at, updated_at, "
    "revision) VALUES ('t-1', 'discharge', 'discharge-t-1', 'p-1', '3101', 'dps-halden', "
    "'x', 'active', 'Bo hjemme', '{}', now(), now(), 0)",
]
