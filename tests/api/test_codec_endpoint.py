"""The codec endpoint the Temporal Web UI uses: administrators decode real history payloads
(and it is audited); anyone else is refused."""

from __future__ import annotations

import base64

import httpx
from google.protobuf.json_format import MessageToDict
from sqlalchemy import select
from temporalio.client import Client

from store.audit import AuditRow
from store.database import Database

from factories import DirectoryFactory


async def _first_encrypted_payload(temporal: Client, workflow_id: str) -> dict[str, object]:
    """The workflow's input as stored in Temporal: encrypted, so the raw service is asked."""
    handle = temporal.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    return MessageToDict(started.input.payloads[0])


async def test_administrator_decodes_history_payloads_and_it_is_audited(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, temporal: Client, db: Database
) -> None:
    started = await app_client.post(
        "/api/v1/discharges",
        json=directory.discharge_body(what_matters="Å få se barna mine igjen."),
        headers=directory.headers(directory.identity.coordinator),
    )
    assert started.status_code == 201, started.text
    payload = await _first_encrypted_payload(temporal, started.json()["workflow_id"])
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    assert b"barna mine" not in base64.b64decode(payload["data"])

    admin = await directory.add_person("forvalter", ["administrator"], directory.dps)
    decoded = await app_client.post(
        "/codec/decode", json={"payloads": [payload]}, headers=directory.headers(admin)
    )
    assert decoded.status_code == 200, decoded.text
    plain = base64.b64decode(decoded.json()["payloads"][0]["data"])
    assert "Å få se barna mine igjen.".encode() in plain

    async with db.transaction() as session:
        rows = await session.scalars(select(AuditRow).where(AuditRow.actor_id == admin))
        assert [row.resource for row in rows] == ["codec"]


async def test_others_may_not_decode(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    response = await app_client.post(
        "/codec/decode",
        json={"payloads": []},
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 403
    assert "administrators" in response.json()["detail"]
    assert (await app_client.post("/codec/decode", json={"payloads": []})).status_code == 401
