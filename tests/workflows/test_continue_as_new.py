"""A discharge that waits long enough to continue as new, on its own dev server whose
history limit suggests continue-as-new after 50 events: its state, timers and commands carry
over to the next run, and the read model sees one unbroken timeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from foundation.settings import Settings
from foundation.temporal_client import connect
from overgang.app import attach, create_app
from overgang.embedded import TemporalDevServer, free_port
from store.database import Database
from worker import build_worker
from workflows.search_attributes import cli_flags

from factories import DirectoryFactory
from polling import eventually


@pytest.fixture(scope="module")
async def small_history_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TemporalDevServer]:
    folder: Path = tmp_path_factory.mktemp("temporal-can")
    server = TemporalDevServer(
        folder / "temporal.db",
        port=free_port(),
        ui_port=None,
        search_attributes=cli_flags(),
        log_file=folder / "temporal.log",
        dynamic_config={"limit.historyCount.suggestContinueAsNew": "50"},
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def can_stack(
    small_history_server: TemporalDevServer, settings: Settings, db: Database
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """Worker and API against the small-history server; waiting days of 2 s (shorter days
    keep a busy machine's read-model writes back to back, and continue-as-new waits for a
    moment without one)."""
    quick = settings.model_copy(
        update={
            "temporal_task_queue": "overgang-can-test",
            "waiting_day_length": timedelta(seconds=2),
        }
    )
    client = await connect(quick, small_history_server.address)
    worker = build_worker(client, db, quick)
    running = asyncio.create_task(worker.run())
    app = create_app(quick, database_url=db.url)
    attach(app, db, client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://overgang.test") as http:
        yield http, client
    await worker.shutdown()
    await running


async def test_long_wait_continues_as_new_and_carries_everything_over(
    can_stack: tuple[httpx.AsyncClient, Client], directory: DirectoryFactory
) -> None:
    http, client = can_stack
    coordinator = directory.headers(directory.identity.coordinator)
    contact = directory.headers(directory.identity.contact)
    started = await http.post(
        "/api/v1/discharges", json=directory.discharge_body(), headers=coordinator
    )
    assert started.status_code == 201, started.text
    transition_id, workflow_id = started.json()["id"], started.json()["workflow_id"]
    intake = started.json()["tasks"][0]["id"]
    first_run = (await client.get_workflow_handle(workflow_id).describe()).run_id
    ready = await http.post(
        f"/api/v1/transitions/{transition_id}/ready-for-discharge", headers=coordinator
    )
    assert ready.status_code == 200, ready.text

    async def continued() -> str | None:
        run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
        return run_id if run_id != first_run else None

    await eventually(continued, timeout=180, what="a continue-as-new")
    old_history = await client.get_workflow_handle(workflow_id, run_id=first_run).fetch_history()
    assert (
        old_history.events[-1].event_type
        == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    )

    # The new run goes on counting where the old one stopped, and answers commands.
    days_before = len(await waiting_days(http, coordinator, transition_id))
    for command in ("acknowledge", "accept"):
        response = await http.post(f"/api/v1/tasks/{intake}/{command}", headers=contact)
        assert response.status_code == 200, response.text
    assert (
        await http.post(f"/api/v1/transitions/{transition_id}/discharged", headers=coordinator)
    ).status_code == 200
    contacted = await http.post(
        f"/api/v1/transitions/{transition_id}/first-contact",
        json={"contacted_on": date.today().isoformat()},
        headers=contact,
    )
    assert contacted.status_code == 200, contacted.text

    async def completed() -> dict[str, Any] | None:
        body = (await http.get(f"/api/v1/transitions/{transition_id}", headers=coordinator)).json()
        return body if body["status"] == "completed" else None

    body = await eventually(completed, timeout=30, what="the transition to complete")
    days = [int(e["detail"]["day"]) for e in body["timeline"] if e["kind"] == "waiting_day"]
    assert len(days) >= days_before
    assert days == list(range(1, len(days) + 1))  # no day lost or counted twice
    seqs = [e["seq"] for e in body["timeline"]]
    assert seqs == sorted(set(seqs))


async def waiting_days(
    http: httpx.AsyncClient, headers: dict[str, str], transition_id: str
) -> list[dict[str, Any]]:
    body = (await http.get(f"/api/v1/transitions/{transition_id}", headers=headers)).json()
    return [e for e in body["timeline"] if e["kind"] == "waiting_day"]
