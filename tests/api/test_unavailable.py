"""PostgreSQL or Temporal unavailable: 503 problem+json with Retry-After, never a 500, and
nothing half-done. Each test stops a server of its own, never the shared session ones."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from foundation.settings import Settings
from foundation.temporal_client import connect
from overgang.app import attach, create_app
from overgang.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from store.audit import AuditRow
from store.database import Database
from store.migrate import upgrade_async
from store.tables import Transition
from workflows.search_attributes import cli_flags

from factories import DirectoryFactory


def _assert_unavailable(response: httpx.Response, service: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"].isdigit()
    assert service in response.json()["detail"]


@pytest.fixture
async def own_postgres(state_dir: Path) -> AsyncIterator[EmbeddedPostgres]:
    # Under the session's state folder, which the server's own user may enter (pytest's
    # per-test folders are private to root); kept on stop: the test starts it again.
    data_dir = state_dir / f"postgres-stopped-{uuid.uuid4().hex[:8]}"
    server = EmbeddedPostgres(data_dir, delete_on_stop=False)
    url = await asyncio.to_thread(server.start)
    await upgrade_async(url)
    yield server
    await asyncio.to_thread(server.stop)
    shutil.rmtree(data_dir, ignore_errors=True)


async def test_503_while_postgresql_is_stopped_and_back_after(
    own_postgres: EmbeddedPostgres, settings: Settings, temporal: Client
) -> None:
    db = Database(own_postgres.sqlalchemy_url(), pool_size=2)
    directory = DirectoryFactory(db, settings)
    await directory.create()
    app = create_app(settings, database_url=db.url)
    attach(app, db, temporal)
    contact = directory.headers(directory.identity.contact)
    coordinator = directory.headers(directory.identity.coordinator)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://down.test") as http:
            assert (await http.get("/api/v1/tasks", headers=contact)).status_code == 200

            await asyncio.to_thread(own_postgres.stop)
            started = time.monotonic()
            _assert_unavailable(await http.get("/api/v1/tasks", headers=contact), "PostgreSQL")
            _assert_unavailable(
                await http.post(
                    "/api/v1/discharges", json=directory.discharge_body(), headers=coordinator
                ),
                "PostgreSQL",
            )
            _assert_unavailable(await http.get("/fhir/r4/Task", headers=contact), "PostgreSQL")
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and "PostgreSQL" in ready.json()["detail"]
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/metrics")).status_code == 200
            assert time.monotonic() - started < 30, "503s must come quickly, not after hangs"

            await asyncio.to_thread(own_postgres.start)
            assert (await http.get("/api/v1/tasks", headers=contact)).status_code == 200
    finally:
        await db.dispose()


@pytest.fixture
async def stopped_temporal(tmp_path: Path, settings: Settings) -> AsyncIterator[Client]:
    """A client of a Temporal server that has been stopped."""
    server = TemporalDevServer(
        tmp_path / "temporal.db",
        port=free_port(),
        ui_port=None,
        search_attributes=cli_flags(),
        log_file=tmp_path / "temporal.log",
    )
    await server.start()
    client = await connect(settings, server.address)
    await server.stop()
    yield client


async def test_503_while_temporal_is_down_and_nothing_half_done(
    stopped_temporal: Client, settings: Settings, db: Database
) -> None:
    directory = DirectoryFactory(db, settings)
    await directory.create()
    app = create_app(settings, database_url=db.url)
    attach(app, db, stopped_temporal)
    coordinator = directory.identity.coordinator
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://down.test") as http:
        response = await http.post(
            "/api/v1/discharges",
            json=directory.discharge_body(),
            headers=directory.headers(coordinator),
        )
        _assert_unavailable(response, "Temporal")
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and "Temporal" in ready.json()["detail"]
    async with db.transaction() as session:
        transitions = await session.scalar(
            select(func.count()).select_from(Transition).where(Transition.started_by == coordinator)
        )
        audited = await session.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.actor_id == coordinator)
        )
    assert transitions == 0
    assert audited == 0, "no audit row claims a start that did not happen"
