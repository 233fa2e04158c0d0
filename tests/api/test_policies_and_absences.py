"""Escalation policies as versioned data, substitutes for absent contacts, in-app notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from domain.escalation import Channel, EscalationLevel, Recipient
from store.database import Database
from store.tables import Membership, Person, TaskRow

from factories import DirectoryFactory, start_discharge
from polling import eventually

ONE_HOUR_LEVEL = EscalationLevel(
    wait=timedelta(hours=1),
    business_time=False,
    reach_on_call_now=True,
    notify=(Recipient.OWNER_UNIT,),
    channels=(Channel.IN_APP,),
).model_dump(mode="json")


async def add_administrator(db: Database, directory: DirectoryFactory) -> dict[str, str]:
    admin_id = f"{directory.slug}-admin"
    async with db.transaction() as session:
        await session.merge(Person(id=admin_id, name="Ada Admin", roles=["administrator"]))
    return directory.headers(admin_id)


async def task_row(db: Database, task_id: str) -> TaskRow:
    async with db.transaction() as session:
        row = await session.scalar(select(TaskRow).where(TaskRow.id == task_id))
        assert row is not None
        return row


def errors_named(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


# --- policies ---------------------------------------------------------------------------------


async def test_editing_a_policy_keeps_running_steps_on_their_version(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    admin = await add_administrator(db, directory)
    policy_id = f"{directory.slug}-policy"
    running = await start_discharge(app_client, directory)
    running_task = running["tasks"][0]
    before = await task_row(db, running_task["id"])
    assert before.policy_version == 1

    edited = await app_client.put(
        f"/api/v1/escalation-policies/{policy_id}",
        json={"name": "Strengere", "levels": [ONE_HOUR_LEVEL, ONE_HOUR_LEVEL]},
        headers=admin,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    assert [v["version"] for v in edited.json()["history"]] == [1, 2]
    # Version 1 stays as it was (the factory's three levels); version 2 has two.
    assert [len(v["levels"]) for v in edited.json()["history"]] == [3, 2]
    assert edited.json()["levels"][0]["wait"] == 3600  # seconds in responses

    after = await task_row(db, running_task["id"])
    assert (after.policy_id, after.policy_version) == (policy_id, 1)
    assert after.next_escalation_at == before.next_escalation_at
    fresh = await start_discharge(app_client, directory)
    fresh_row = await task_row(db, fresh["tasks"][0]["id"])
    assert (fresh_row.policy_id, fresh_row.policy_version) == (policy_id, 2)

    contact = directory.headers(directory.identity.contact)
    listed = await app_client.get(
        "/api/v1/escalation-policies",
        params={"municipality_number": directory.number},
        headers=contact,
    )
    assert listed.status_code == 200
    assert [(p["id"], p["version"], p["versions"]) for p in listed.json()] == [
        (policy_id, 2, [1, 2])
    ]


async def test_only_administrators_edit_policies_and_bad_levels_name_the_field(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    admin = await add_administrator(db, directory)
    policy_id = f"{directory.slug}-policy"
    url = f"/api/v1/escalation-policies/{policy_id}"
    body = {"name": "x", "levels": [ONE_HOUR_LEVEL]}
    refused = await app_client.put(
        url, json=body, headers=directory.headers(directory.identity.unit_leader)
    )
    assert refused.status_code == 403
    assert "administrators" in refused.json()["detail"]

    assert errors_named(await app_client.put(url, json={**body, "levels": []}, headers=admin)) == [
        "levels"
    ]
    bad_wait = {**ONE_HOUR_LEVEL, "wait": "-PT5M"}
    assert "levels.0.wait" in errors_named(
        await app_client.put(url, json={**body, "levels": [bad_wait]}, headers=admin)
    )
    no_channel = {**ONE_HOUR_LEVEL, "channels": ["fax"]}
    assert "levels.0.channels.0" in errors_named(
        await app_client.put(url, json={**body, "levels": [no_channel]}, headers=admin)
    )
    on_call_in_business_time = {**ONE_HOUR_LEVEL, "business_time": True}
    assert errors_named(
        await app_client.put(
            url, json={**body, "levels": [on_call_in_business_time]}, headers=admin
        )
    ) == ["levels.0.reach_on_call_now"]
    create = {"name": "Ny", "municipality_number": "0000", "levels": [ONE_HOUR_LEVEL]}
    assert errors_named(
        await app_client.post("/api/v1/escalation-policies", json=create, headers=admin)
    ) == ["municipality_number"]

    created = await app_client.post(
        "/api/v1/escalation-policies",
        json={
            **create,
            "municipality_number": directory.number,
            "unit_id": directory.housing,
            "task_kind": "housing",
            "id": f"{directory.slug}-bolig",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["version"], created.json()["unit_id"]) == (1, directory.housing)
    missing = await app_client.get("/api/v1/escalation-policies/nope", headers=admin)
    assert missing.status_code == 404


# --- substitutes --------------------------------------------------------------------------------


async def inbox_ids(http: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    response = await http.get("/api/v1/notifications", headers=headers)
    assert response.status_code == 200, response.text
    return {n["task_id"] for n in response.json()}


async def test_substitute_gets_the_task_while_the_contact_is_absent(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    who = directory.identity
    # A substitute must already act for one of the contact's units: the contact is also a
    # backup of home care, whose contact (the "outsider" of the intake) stands in.
    async with db.transaction() as session:
        session.add(Membership(person_id=who.contact, unit_id=directory.other_unit, is_backup=True))
    contact = directory.headers(who.contact)
    substitute = directory.headers(who.outsider)
    now = datetime.now(UTC)
    absence = await app_client.post(
        "/api/v1/absences",
        json={
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "substitute_id": who.outsider,
            "reason": "ferie",
        },
        headers=contact,
    )
    assert absence.status_code == 201, absence.text
    assert absence.json()["person_id"] == who.contact

    during = await start_discharge(app_client, directory)
    during_task = during["tasks"][0]["id"]
    await eventually(
        lambda: _has(app_client, substitute, during_task), what="the substitute's notification"
    )
    assert during_task not in await inbox_ids(app_client, contact)
    # The substitute acts for the absent contact's unit: sees and acknowledges the task.
    inbox = (await app_client.get("/api/v1/tasks", headers=substitute)).json()
    assert during_task in [item["task"]["id"] for item in inbox]
    acknowledged = await app_client.post(
        f"/api/v1/tasks/{during_task}/acknowledge", headers=substitute
    )
    assert acknowledged.status_code == 200, acknowledged.text
    detail = (
        await app_client.get(
            f"/api/v1/transitions/{during['id']}", headers=directory.headers(who.coordinator)
        )
    ).json()
    notified = [e["detail"] for e in detail["timeline"] if e["kind"] == "notified"]
    assert {(d["person_id"], d["on_behalf_of"]) for d in notified} >= {(who.outsider, who.contact)}

    ended = await app_client.delete(f"/api/v1/absences/{absence.json()['id']}", headers=contact)
    assert ended.status_code == 200, ended.text
    after = await start_discharge(app_client, directory)
    after_task = after["tasks"][0]["id"]
    await eventually(
        lambda: _has(app_client, contact, after_task), what="the contact's notification"
    )
    assert after_task not in await inbox_ids(app_client, substitute)
    forbidden = await app_client.post(f"/api/v1/tasks/{after_task}/acknowledge", headers=substitute)
    assert forbidden.status_code == 403


async def _has(http: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> bool:
    return task_id in await inbox_ids(http, headers)


async def test_absence_rules(app_client: httpx.AsyncClient, directory: DirectoryFactory) -> None:
    who = directory.identity
    now = datetime.now(UTC)
    body = {
        "person_id": who.contact,
        "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=8)).isoformat(),
        "substitute_id": who.backup,
    }
    by_outsider = await app_client.post(
        "/api/v1/absences", json=body, headers=directory.headers(who.outsider)
    )
    assert by_outsider.status_code == 403
    backwards = {**body, "ends_at": (now - timedelta(days=1)).isoformat()}
    assert errors_named(
        await app_client.post(
            "/api/v1/absences", json=backwards, headers=directory.headers(who.contact)
        )
    ) == ["ends_at"]
    unknown = {**body, "substitute_id": "nobody"}
    assert errors_named(
        await app_client.post(
            "/api/v1/absences", json=unknown, headers=directory.headers(who.contact)
        )
    ) == ["substitute_id"]

    leader = directory.headers(who.unit_leader)
    by_leader = await app_client.post("/api/v1/absences", json=body, headers=leader)
    assert by_leader.status_code == 201, by_leader.text
    listed = await app_client.get("/api/v1/absences", headers=leader)
    assert by_leader.json()["id"] in [a["id"] for a in listed.json()]
    covering = await app_client.get("/api/v1/absences", headers=directory.headers(who.backup))
    assert by_leader.json()["id"] in [a["id"] for a in covering.json()]


async def test_notifications_can_be_marked_read(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    contact = directory.headers(directory.identity.contact)
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    await eventually(lambda: _has(app_client, contact, task_id), what="the contact's notification")
    unread = (await app_client.get("/api/v1/notifications?unread=true", headers=contact)).json()
    [mine] = [n for n in unread if n["task_id"] == task_id]
    assert (mine["reason"], mine["level"], mine["read_at"]) == ("new_task", 0, None)

    read = await app_client.post(f"/api/v1/notifications/{mine['id']}/read", headers=contact)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = (await app_client.get("/api/v1/notifications?unread=true", headers=contact)).json()
    assert task_id not in [n["task_id"] for n in unread]
    others = directory.headers(directory.identity.outsider)
    stolen = await app_client.post(f"/api/v1/notifications/{mine['id']}/read", headers=others)
    assert stolen.status_code == 404
