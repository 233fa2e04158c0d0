"""Commands are safe to retry (issue 12, no. 5): every state-changing route takes an
Idempotency-Key and answers a retry with the first answer; where that answer was never
stored (a crash after Temporal applied the update), Temporal itself gives the first outcome
of the same update, because the update id is derived from (person, route, key)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select

from store.absences import AbsenceRow
from store.database import Database
from store.idempotency import IdempotentAnswer

from factories import DirectoryFactory, start_discharge

CHANGING = {"post", "put", "patch", "delete"}
# Not commands: the codec server encodes and decodes payloads for the Temporal Web UI.
NOT_COMMANDS = {"/codec/encode", "/codec/decode"}


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def lose_the_answer(db: Database, person_id: str, key: str) -> None:
    """What a crash after Temporal applied the update, before the answer was kept, leaves."""
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotentAnswer).where(
                IdempotentAnswer.actor_id == person_id, IdempotentAnswer.key == key
            )
        )


async def test_a_retried_acknowledgement_gets_the_first_answer(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    intake = (await start_discharge(app_client, directory))["tasks"][0]
    contact = keyed(directory.headers(directory.identity.contact), str(uuid.uuid4()))
    url = f"/api/v1/tasks/{intake['id']}/acknowledge"

    first = await app_client.post(url, headers=contact)
    again = await app_client.post(url, headers=contact)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"


async def test_an_acknowledgement_whose_answer_was_lost_gets_the_first_outcome(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    intake = (await start_discharge(app_client, directory))["tasks"][0]
    key = str(uuid.uuid4())
    contact = keyed(directory.headers(directory.identity.contact), key)
    url = f"/api/v1/tasks/{intake['id']}/acknowledge"
    first = await app_client.post(url, headers=contact)
    assert first.status_code == 200, first.text
    await lose_the_answer(db, directory.identity.contact, key)

    again = await app_client.post(url, headers=contact)

    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    unkeyed = await app_client.post(url, headers=directory.headers(directory.identity.contact))
    assert unkeyed.status_code == 409, "without a key a second acknowledgement is refused"


async def test_a_cancellation_whose_answer_was_lost_gets_the_first_outcome(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    """The first cancel closed the workflow; Temporal still has the update's outcome."""
    started = await start_discharge(app_client, directory)
    key = str(uuid.uuid4())
    coordinator = keyed(directory.headers(directory.identity.coordinator), key)
    url = f"/api/v1/transitions/{started['id']}/cancel"
    body = {"reason": "Pasienten ble værende"}
    first = await app_client.post(url, json=body, headers=coordinator)
    assert first.status_code == 200, first.text
    await lose_the_answer(db, directory.identity.coordinator, key)

    again = await app_client.post(url, json=body, headers=coordinator)
    other_key = keyed(directory.headers(directory.identity.coordinator), str(uuid.uuid4()))
    new_command = await app_client.post(url, json=body, headers=other_key)

    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert new_command.status_code == 409, new_command.text
    assert "already cancelled" in new_command.json()["detail"]


async def test_a_retried_absence_is_created_once(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    """A command that only writes PostgreSQL: its answer is kept in the same transaction."""
    who = directory.identity
    now = datetime.now(UTC)
    body = {
        "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=8)).isoformat(),
        "substitute_id": who.backup,
        "reason": "Ferie",
    }
    headers = keyed(directory.headers(who.contact), str(uuid.uuid4()))

    answers = [await app_client.post("/api/v1/absences", json=body, headers=headers) for _ in "12"]

    assert [a.status_code for a in answers] == [201, 201], answers[0].text
    assert answers[1].json() == answers[0].json()
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(AbsenceRow).where(AbsenceRow.person_id == who.contact)
        )
    assert count == 1


async def test_a_retry_sent_while_the_first_request_runs_creates_nothing_twice(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    """A client that timed out resends at once: the two requests run concurrently."""
    who = directory.identity
    now = datetime.now(UTC)
    body = {
        "starts_at": (now + timedelta(days=2)).isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
        "substitute_id": who.backup,
    }
    headers = keyed(directory.headers(who.contact), str(uuid.uuid4()))

    answers = await asyncio.gather(
        *(app_client.post("/api/v1/absences", json=body, headers=headers) for _ in range(3))
    )

    assert [a.status_code for a in answers] == [201] * 3, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(AbsenceRow).where(AbsenceRow.person_id == who.contact)
        )
    assert count == 1


async def test_a_key_reused_for_a_different_request_is_refused_naming_the_header(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    first, second = [await start_discharge(app_client, directory) for _ in "12"]
    contact = keyed(directory.headers(directory.identity.contact), str(uuid.uuid4()))
    ok = await app_client.post(
        f"/api/v1/tasks/{first['tasks'][0]['id']}/acknowledge", headers=contact
    )
    reused = await app_client.post(
        f"/api/v1/tasks/{second['tasks'][0]['id']}/acknowledge", headers=contact
    )

    assert ok.status_code == 200, ok.text
    assert reused.status_code == 422, reused.text
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_every_state_changing_route_takes_an_idempotency_key(
    app_client: httpx.AsyncClient,
) -> None:
    paths: dict[str, dict[str, Any]] = (await app_client.get("/openapi.json")).json()["paths"]
    missing = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method in CHANGING
        and path not in NOT_COMMANDS
        and "idempotency-key" not in {p["name"].lower() for p in operation.get("parameters", [])}
    ]
    assert missing == []
