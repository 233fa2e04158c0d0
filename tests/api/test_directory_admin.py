"""Administration without data loss (issue 9, observation 8): PATCH changes only what it is
given, PUT refuses a body that leaves fields out, unknown fields and unit kinds are refused,
and a unit's webhook is set and rotated through the API with a write-only secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from webhook_receiver import WebhookReceiver

from domain.escalation import Channel, EscalationLevel, Recipient
from store.audit import AuditRow
from store.database import Database
from store.tables import Person, Unit

from factories import DirectoryFactory, start_discharge
from polling import eventually

SECRET = "whsec-" + "a" * 32
ROTATED = "whsec-" + "b" * 32


@pytest.fixture
async def admin(db: Database, directory: DirectoryFactory) -> dict[str, str]:
    admin_id = f"{directory.slug}-admin"
    async with db.transaction() as session:
        await session.merge(Person(id=admin_id, name="Ada Admin", roles=["administrator"]))
    return directory.headers(admin_id)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver(SECRET)
    running.start()
    yield running
    running.stop()


async def _unit(db: Database, unit_id: str) -> Unit:
    async with db.transaction() as session:
        row = await session.get(Unit, unit_id)
        assert row is not None
        return row


def _fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {error["field"] for error in response.json()["errors"]}


async def _audited(db: Database, actor_id: str, resource: str) -> list[AuditRow]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditRow)
            .where(AuditRow.actor_id == actor_id, AuditRow.resource == resource)
            .order_by(AuditRow.id)
        )
        return list(rows)


async def test_a_put_that_leaves_fields_out_is_refused_and_loses_nothing(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, admin: dict[str, str]
) -> None:
    url = f"/api/v1/units/{directory.intake}"
    await app_client.patch(url, json={"email": "prt@test.kommune.no"}, headers=admin)
    before = await _unit(db, directory.intake)
    partial = await app_client.put(
        url, json={"name": "Psykisk helse og rus", "kind": "psykisk_helse_rus"}, headers=admin
    )
    assert {"leader_id", "email", "municipality_number", "her_id"} <= _fields(partial)
    after = await _unit(db, directory.intake)
    assert (after.leader_id, after.email) == (before.leader_id, before.email)
    assert after.leader_id == directory.identity.unit_leader


async def test_patch_changes_only_the_fields_it_is_given(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, admin: dict[str, str]
) -> None:
    url = f"/api/v1/units/{directory.intake}"
    patched = await app_client.patch(url, json={"email": "prt@test.kommune.no"}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert patched.json()["email"] == "prt@test.kommune.no"
    unit = await _unit(db, directory.intake)
    assert (unit.email, unit.leader_id, unit.kind) == (
        "prt@test.kommune.no",
        directory.identity.unit_leader,
        "psykisk_helse_rus",
    )
    cleared = await app_client.patch(url, json={"email": None}, headers=admin)
    assert cleared.status_code == 200, cleared.text
    assert (await _unit(db, directory.intake)).email is None
    assert _fields(await app_client.patch(url, json={"name": None}, headers=admin)) == {"name"}
    missing = await app_client.patch("/api/v1/units/no-such-unit", json={}, headers=admin)
    assert missing.status_code == 404
    audited = await _audited(db, f"{directory.slug}-admin", f"units/{directory.intake}")
    assert len(audited) == 2 and all(row.outcome == "ok" for row in audited)
    assert "email" in (audited[0].reason or "")


async def test_unknown_fields_and_unit_kinds_are_refused(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, admin: dict[str, str]
) -> None:
    url = f"/api/v1/units/{directory.intake}"
    typo = await app_client.patch(url, json={"webhok_url": "https://x.test/h"}, headers=admin)
    assert _fields(typo) == {"webhok_url"}
    full = {
        "name": "Ny enhet",
        "kind": "home_care",
        "municipality_number": directory.number,
        "her_id": None,
        "leader_id": None,
        "email": None,
    }
    new_url = f"/api/v1/units/{directory.slug}-ny-{uuid.uuid4().hex[:6]}"
    colour = await app_client.put(new_url, json={**full, "colour": "red"}, headers=admin)
    assert _fields(colour) == {"colour"}
    hospital = await app_client.put(new_url, json={**full, "kind": "hospital"}, headers=admin)
    assert _fields(hospital) == {"kind"}
    assert _fields(await app_client.patch(url, json={"kind": "sykehus"}, headers=admin)) == {"kind"}
    created = await app_client.put(new_url, json=full, headers=admin)
    assert created.status_code == 200, created.text
    person_url = f"/api/v1/people/{directory.identity.contact}"
    assert _fields(await app_client.patch(person_url, json={"rolle": "x"}, headers=admin)) == {
        "rolle"
    }
    assert (await _unit(db, directory.intake)).kind == "psykisk_helse_rus"


async def test_patch_of_a_person_keeps_roles_and_units(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, admin: dict[str, str]
) -> None:
    url = f"/api/v1/people/{directory.identity.contact}"
    patched = await app_client.patch(url, json={"email": "kari@test.kommune.no"}, headers=admin)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["email"] == "kari@test.kommune.no"
    assert body["roles"] == ["municipal_contact"]
    assert body["units"] == [{"unit_id": directory.intake, "is_backup": False}]
    partial = await app_client.put(url, json={"name": "Kari Kontakt"}, headers=admin)
    assert {"email", "roles", "units", "hpr_number"} <= _fields(partial)
    moved = await app_client.patch(
        url, json={"units": [{"unit_id": directory.other_unit}]}, headers=admin
    )
    assert moved.json()["units"] == [{"unit_id": directory.other_unit, "is_backup": False}]
    assert moved.json()["email"] == "kari@test.kommune.no"
    own = directory.headers(directory.identity.contact)
    refused = await app_client.patch(url, json={"email": "meg@test.no"}, headers=own)
    assert refused.status_code == 403


def _webhook_level() -> dict[str, Any]:
    return EscalationLevel(
        wait=timedelta(hours=1),
        business_time=False,
        reach_on_call_now=True,
        notify=(Recipient.OWNER_UNIT,),
        channels=(Channel.IN_APP, Channel.WEBHOOK),
    ).model_dump(mode="json")


async def test_administrators_set_and_rotate_a_units_webhook(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    admin: dict[str, str],
    receiver: WebhookReceiver,
) -> None:
    await directory.set_policy([_webhook_level()], version=2)
    url = f"/api/v1/units/{directory.intake}"
    no_secret = await app_client.patch(url, json={"webhook_url": receiver.url}, headers=admin)
    assert _fields(no_secret) == {"webhook_secret"}
    not_http = {"webhook_url": "ftp://x.test/h", "webhook_secret": SECRET}
    assert _fields(await app_client.patch(url, json=not_http, headers=admin)) == {"webhook_url"}

    body = {"webhook_url": receiver.url, "webhook_secret": SECRET}
    configured = await app_client.patch(url, json=body, headers=admin)
    assert configured.status_code == 200, configured.text
    assert SECRET not in configured.text
    assert configured.json()["webhook_configured"] is True
    first_rotation = configured.json()["webhook_rotated_at"]
    assert first_rotation is not None
    everyone = await app_client.get(url, headers=directory.headers(directory.identity.contact))
    assert everyone.json()["webhook_configured"] is True
    assert SECRET not in everyone.text and receiver.url not in everyone.text

    started = await start_discharge(app_client, directory)
    await eventually(
        lambda: _delivered(receiver, started["id"]), what="a webhook signed with the set secret"
    )

    receiver.secret = ROTATED
    rotated = await app_client.patch(url, json={"webhook_secret": ROTATED}, headers=admin)
    assert rotated.status_code == 200, rotated.text
    later = datetime.fromisoformat(rotated.json()["webhook_rotated_at"])
    assert later > datetime.fromisoformat(first_rotation)
    assert ROTATED not in rotated.text
    again = await start_discharge(app_client, directory)
    await eventually(
        lambda: _delivered(receiver, again["id"]), what="a webhook signed with the new secret"
    )
    reasons = [
        r.reason or ""
        for r in await _audited(db, f"{directory.slug}-admin", f"units/{directory.intake}")
    ]
    assert any("webhook_secret" in r for r in reasons)
    assert not any(SECRET in r or ROTATED in r for r in reasons)

    removed = await app_client.patch(url, json={"webhook_url": None}, headers=admin)
    assert removed.json()["webhook_configured"] is False
    unit = await _unit(db, directory.intake)
    assert (unit.webhook_url, unit.webhook_secret) == (None, None)


async def _delivered(receiver: WebhookReceiver, transition_id: str) -> bool:
    return any(hook.body.get("transition_id") == transition_id for hook in receiver.accepted())
