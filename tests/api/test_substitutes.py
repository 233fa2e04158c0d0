"""Substitutes (issue 9, observation 2): a substitute is named only among people who already
act for one of the absent person's units, acts for those units during the absence only, and
never widens who reads a patient's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.absences import service as absences_service
from domain.actors import Actor
from foundation.settings import Settings
from store import absences
from store import directory as store_directory
from store.absences import AbsenceRow
from store.database import Database
from store.tables import Membership

from factories import DirectoryFactory, start_discharge


def _period(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "reason": "ferie",
    }
    return {**body, **changes}


def _refusal(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == field
    return str(error["message"])


async def _inbox_task_ids(http: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    response = await http.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200, response.text
    return {item["task"]["id"] for item in response.json()}


async def test_a_backup_cannot_hand_an_intake_to_nav_without_consent(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    """halden-prt-vara naming halden-nav-kontakt: refused, and NAV never sees the intake."""
    who = directory.identity
    nav_contact = await directory.add_person("nav-kontakt", ["municipal_contact"], directory.nav)
    refused = await app_client.post(
        "/api/v1/absences",
        json=_period(substitute_id=nav_contact),
        headers=directory.headers(who.backup),
    )
    message = _refusal(refused, "substitute_id")
    assert directory.intake in message

    started = await start_discharge(app_client, directory)  # no NAV consent (the default)
    intake = started["tasks"][0]["id"]
    assert intake not in await _inbox_task_ids(app_client, directory.headers(nav_contact))


async def test_a_contact_cannot_name_someone_of_another_municipality(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, settings: Settings
) -> None:
    """halden-prt-kontakt naming baerum-prt-kontakt: refused; Bærum cannot act on Halden's task."""
    other = DirectoryFactory(db, settings)
    await other.create()
    refused = await app_client.post(
        "/api/v1/absences",
        json=_period(substitute_id=other.identity.contact),
        headers=directory.headers(directory.identity.contact),
    )
    _refusal(refused, "substitute_id")
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    baerum = other.headers(other.identity.contact)
    assert task_id not in await _inbox_task_ids(app_client, baerum)
    acknowledged = await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=baerum)
    assert acknowledged.status_code == 403


async def test_leadership_does_not_pass_to_a_substitute(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    """A leader who is no unit's contact has nothing a substitute could act for."""
    who = directory.identity
    refused = await app_client.post(
        "/api/v1/absences",
        json=_period(substitute_id=who.contact),
        headers=directory.headers(who.municipal_leader),
    )
    assert "leadership" in _refusal(refused, "substitute_id")


async def test_a_colleague_stands_in_for_the_absent_persons_units_during_the_absence_only(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    """The home-care contact may stand in for a contact who is also home care's backup: during
    the absence they act for the intake unit too, afterwards not."""
    who = directory.identity
    async with db.transaction() as session:
        session.add(Membership(person_id=who.contact, unit_id=directory.other_unit, is_backup=True))
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    substitute = directory.headers(who.outsider)
    assert task_id not in await _inbox_task_ids(app_client, substitute)

    absence = await app_client.post(
        "/api/v1/absences",
        json=_period(substitute_id=who.outsider),
        headers=directory.headers(who.contact),
    )
    assert absence.status_code == 201, absence.text
    assert task_id in await _inbox_task_ids(app_client, substitute)

    ended = await app_client.delete(
        f"/api/v1/absences/{absence.json()['id']}", headers=directory.headers(who.contact)
    )
    assert ended.status_code == 200, ended.text
    assert task_id not in await _inbox_task_ids(app_client, substitute)


async def test_an_absence_stored_before_the_rule_gives_no_access(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    """A row written before the check existed (or a substitute who has since left the unit)
    gives neither access nor the absent person's notifications."""
    who = directory.identity
    nav_contact = await directory.add_person("nav-kontakt", ["municipal_contact"], directory.nav)
    now = datetime.now(UTC)
    async with db.transaction() as session:
        session.add(
            AbsenceRow(
                person_id=who.backup,
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=2),
                substitute_id=nav_contact,
                created_at=now,
            )
        )
    started = await start_discharge(app_client, directory)
    assert started["tasks"][0]["id"] not in await _inbox_task_ids(
        app_client, directory.headers(nav_contact)
    )
    async with db.transaction() as session:
        assert await store_directory.acting_unit_ids(session, nav_contact) == {directory.nav}
        assert await absences.substitute_for(session, who.backup, now) is None


async def test_the_absences_page_offers_only_eligible_substitutes(
    directory: DirectoryFactory, db: Database
) -> None:
    """Only people of one's own units: not those of the units one stands in for right now."""
    who = directory.identity
    now = datetime.now(UTC)
    async with db.transaction() as session:
        session.add(Membership(person_id=who.contact, unit_id=directory.other_unit, is_backup=True))
        await session.flush()
        # The home-care contact stands in for the intake's contact (a home-care backup)...
        session.add(
            AbsenceRow(
                person_id=who.contact,
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=1),
                substitute_id=who.outsider,
                created_at=now,
            )
        )
    async with db.transaction() as session:
        acting = await store_directory.acting_unit_ids(session, who.outsider)
        assert acting == {directory.other_unit, directory.intake}
        actor = Actor(person_id=who.outsider, unit_ids=frozenset(acting))
        # ...but their own substitute must be a colleague of home care, not of the intake.
        offered = {p.id for p in await absences_service.colleagues(session, actor)}
        assert offered == {who.contact}
        leader = Actor(person_id=who.municipal_leader)
        assert await absences_service.colleagues(session, leader) == []


async def test_a_colleague_of_two_municipalities_passes_on_neither_the_other_town_nor_nav(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, settings: Settings
) -> None:
    """Someone working for Halden's and Bærum's (and NAV's) units is away; Halden's backup
    stands in: for Halden's health unit only, never reading Bærum's patients or NAV's steps."""
    who = directory.identity
    other = DirectoryFactory(db, settings)
    await other.create()
    both = await directory.add_person("to-kommuner", ["municipal_contact"], directory.intake)
    async with db.transaction() as session:
        session.add(Membership(person_id=both, unit_id=other.intake))
        session.add(Membership(person_id=both, unit_id=directory.nav))
    absence = await app_client.post(
        "/api/v1/absences", json=_period(substitute_id=who.backup), headers=directory.headers(both)
    )
    assert absence.status_code == 201, absence.text
    elsewhere = await start_discharge(app_client, other)
    substitute = directory.headers(who.backup)
    read = await app_client.get(f"/api/v1/transitions/{elsewhere['id']}", headers=substitute)
    assert read.status_code == 403, read.text
    assert elsewhere["tasks"][0]["id"] not in await _inbox_task_ids(app_client, substitute)
    async with db.transaction() as session:
        acting = await store_directory.acting_unit_ids(session, who.backup)
    assert acting == {directory.intake}
