"""Checked commands (issue 9, observation 7): a step is assigned only to someone who acts for
its owner unit, and forwarded only where the patient's information may go."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from api.tasks.choices import forward_choices
from foundation.settings import Settings
from store.database import Database
from store.tables import TaskRow

from factories import DirectoryFactory, start_discharge
from polling import eventually


def _refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == field
    return str(error["message"])


async def _tasks(db: Database, transition_id: str) -> list[TaskRow]:
    async with db.transaction() as session:
        rows = await session.scalars(select(TaskRow).where(TaskRow.transition_id == transition_id))
        return list(rows)


async def _assign(
    http: httpx.AsyncClient, directory: DirectoryFactory, task_id: str, assignee: str
) -> httpx.Response:
    return await http.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": assignee},
        headers=directory.headers(directory.identity.contact),
    )


async def _reject(
    http: httpx.AsyncClient, headers: dict[str, str], task_id: str, to_unit: str
) -> httpx.Response:
    return await http.post(
        f"/api/v1/tasks/{task_id}/reject",
        json={"reason": "Ikke vårt ansvar", "forward_to_unit_id": to_unit},
        headers=headers,
    )


@pytest.fixture
async def marker(db: Database, settings: Settings) -> DirectoryFactory:
    other = DirectoryFactory(db, settings)
    await other.create()
    return other


async def test_a_step_is_assigned_only_to_someone_who_acts_for_its_owner_unit(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, marker: DirectoryFactory
) -> None:
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    nobody = await _assign(app_client, directory, task_id, "nobody")
    assert "nobody" in _refused(nobody, "assignee_id")
    elsewhere = await _assign(app_client, directory, task_id, marker.identity.contact)
    assert directory.intake in _refused(elsewhere, "assignee_id")
    outsider = await _assign(app_client, directory, task_id, directory.identity.outsider)
    _refused(outsider, "assignee_id")  # same municipality, another unit

    to_backup = await _assign(app_client, directory, task_id, directory.identity.backup)
    assert to_backup.status_code == 200, to_backup.text
    assert to_backup.json()["assigned_to"] == directory.identity.backup


async def test_an_intake_is_never_forwarded_back_to_the_discharging_unit(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    contact = directory.headers(directory.identity.contact)
    back = await _reject(app_client, contact, task_id, directory.dps)
    assert "discharging" in _refused(back, "forward_to_unit_id")
    for office in (directory.nav, directory.housing):
        _refused(await _reject(app_client, contact, task_id, office), "forward_to_unit_id")
    _refused(await _reject(app_client, contact, task_id, "no-such-unit"), "forward_to_unit_id")
    # Nothing was half-done: the intake is still the municipality's, still open.
    [intake] = await _tasks(db, started["id"])
    assert (intake.owner_unit_id, intake.status) == (directory.intake, "requested")


async def test_an_intake_may_go_to_another_municipalitys_health_service(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    marker: DirectoryFactory,
    db: Database,
) -> None:
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    moved = await _reject(
        app_client, directory.headers(directory.identity.contact), task_id, marker.intake
    )
    assert moved.status_code == 200, moved.text

    async def forwarded() -> list[TaskRow] | None:
        owners = [t for t in await _tasks(db, started["id"]) if t.owner_unit_id == marker.intake]
        return owners or None

    await eventually(forwarded, what="the intake at the other municipality")


async def _housing_task(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, **consents: bool
) -> tuple[str, dict[str, str]]:
    """A discharge with a housing handover; its housing task and the housing contact."""
    housing_contact = await directory.add_person("bolig", ["municipal_contact"], directory.housing)
    started = await start_discharge(
        app_client,
        directory,
        needs={"housing": True},
        consents={"share_with_housing_office": True, **consents},
    )

    async def housing() -> str | None:
        async with db.transaction() as session:
            row = await session.scalar(
                select(TaskRow.id).where(
                    TaskRow.kind == "housing", TaskRow.owner_unit_id == directory.housing
                )
            )
            return row

    task_id = await eventually(housing, what="the housing handover's step")
    assert started["id"]
    return task_id, directory.headers(housing_contact)


async def test_a_handover_goes_to_nav_only_with_the_patients_consent(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    task_id, housing = await _housing_task(app_client, directory, db)
    refused = await _reject(app_client, housing, task_id, directory.nav)
    assert "consent" in _refused(refused, "forward_to_unit_id")
    _refused(await _reject(app_client, housing, task_id, directory.dps), "forward_to_unit_id")
    allowed = await _reject(app_client, housing, task_id, directory.other_unit)
    assert allowed.status_code == 200, allowed.text


async def test_a_handover_with_nav_consent_may_go_to_nav(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    task_id, housing = await _housing_task(app_client, directory, db, share_with_nav=True)
    allowed = await _reject(app_client, housing, task_id, directory.nav)
    assert allowed.status_code == 200, allowed.text


async def test_the_forward_choices_are_the_allowed_targets(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    marker: DirectoryFactory,
    db: Database,
) -> None:
    started = await start_discharge(app_client, directory)
    async with db.transaction() as session:
        [intake] = await _tasks(db, started["id"])
        offered = await forward_choices(session, intake)
    ids = {u.id for u in offered}
    assert directory.other_unit in ids
    assert marker.intake in ids  # another municipality's receiving unit
    assert not ids & {directory.intake, directory.dps, directory.nav, directory.housing}
    assert not ids & {marker.dps, marker.nav, marker.housing}
