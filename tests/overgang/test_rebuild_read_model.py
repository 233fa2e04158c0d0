"""`overgang rebuild-read-model` rebuilds the inbox, timeline and dashboards from Temporal
alone: transitions run through the real stack (one continues as new, one has a child
handover), their read model is lost or damaged, and the command puts back every row as it
was. A Temporal dev server of the test's own holds only these workflows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from temporalio.client import Client, WorkflowExecutionStatus

from foundation.settings import Settings
from foundation.temporal_client import connect
from overgang.app import attach, create_app
from overgang.embedded import TemporalDevServer, free_port
from store.database import Database
from store.tables import EventRow, NotificationRow, TaskRow, Transition
from worker import build_worker
from workflows.search_attributes import cli_flags

from factories import DirectoryFactory, start_discharge
from polling import eventually

Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture
async def own_temporal(tmp_path: Path) -> AsyncIterator[TemporalDevServer]:
    server = TemporalDevServer(
        tmp_path / "temporal.db",
        port=free_port(),
        ui_port=None,
        search_attributes=cli_flags(),
        log_file=tmp_path / "temporal.log",
        dynamic_config={"limit.historyCount.suggestContinueAsNew": "50"},
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def stack(
    own_temporal: TemporalDevServer, settings: Settings, db: Database
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """Worker and API on the test's own Temporal; waiting days of 0.3 s."""
    quick = settings.model_copy(
        update={
            "temporal_task_queue": "overgang-rebuild-test",
            "waiting_day_length": timedelta(seconds=0.3),
        }
    )
    client = await connect(quick, own_temporal.address)
    worker = build_worker(client, db, quick)
    running = asyncio.create_task(worker.run())
    app = create_app(quick, database_url=db.url)
    attach(app, db, client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://overgang.test") as http:
        yield http, client
    await worker.shutdown()
    await running


async def continued_as_new(client: Client, workflow_id: str) -> None:
    first_run = (await client.get_workflow_handle(workflow_id).describe()).run_id

    async def next_run() -> str | None:
        run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
        return run_id if run_id != first_run else None

    await eventually(next_run, timeout=90, what="a continue-as-new")


async def all_closed(client: Client) -> bool:
    statuses = [e.status async for e in client.list_workflows()]
    return bool(statuses) and WorkflowExecutionStatus.RUNNING not in statuses


async def read_model_of(db: Database, municipality: str) -> Rows:
    """Every row of the municipality's transitions (children included), as plain values."""
    async with db.transaction() as session:
        transitions = list(
            await session.scalars(
                select(Transition)
                .where(Transition.municipality_number == municipality)
                .order_by(Transition.id)
            )
        )
        ids = [t.id for t in transitions]
        tasks = await session.scalars(
            select(TaskRow).where(TaskRow.transition_id.in_(ids)).order_by(TaskRow.id)
        )
        events = await session.scalars(
            select(EventRow)
            .where(EventRow.transition_id.in_(ids))
            .order_by(EventRow.transition_id, EventRow.seq)
        )
        return {
            "transitions": [_values(t) for t in transitions],
            "tasks": [_values(t) for t in tasks],
            "events": [_values(e) for e in events],
        }


def _values(row: Any) -> dict[str, Any]:
    return {column.name: getattr(row, column.key) for column in row.__mapper__.columns}


async def lose_and_damage(db: Database, rows: Rows) -> None:
    """The first transition's read model is gone, the others' is wrong."""
    ids = [t["id"] for t in rows["transitions"]]
    lost, damaged = ids[0], ids[1:]
    async with db.transaction() as session:
        # Delivery records are not the read model; they go so the transition row can.
        await session.execute(delete(NotificationRow).where(NotificationRow.transition_id == lost))
        await session.execute(delete(EventRow).where(EventRow.transition_id == lost))
        await session.execute(delete(TaskRow).where(TaskRow.transition_id == lost))
        await session.execute(delete(Transition).where(Transition.id == lost))
        await session.execute(
            update(TaskRow)
            .where(TaskRow.transition_id.in_(damaged))
            .values(status="completed", escalation_level=9)
        )
        await session.execute(
            delete(EventRow).where(EventRow.transition_id.in_(damaged), EventRow.seq > 2)
        )
        await session.execute(
            update(Transition).where(Transition.id.in_(damaged)).values(status="active")
        )


def rebuild_cli(database_url: str, temporal_address: str, state_dir: Path) -> str:
    env = {
        **os.environ,
        "OVERGANG_DATABASE_URL": database_url,
        "OVERGANG_TEMPORAL_ADDRESS": temporal_address,
        "OVERGANG_ENVIRONMENT": "test",
        "OVERGANG_STATE_DIR": str(state_dir),
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("overgang")), "rebuild-read-model"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_the_read_model_is_rebuilt_from_temporal_row_for_row(
    stack: tuple[httpx.AsyncClient, Client],
    own_temporal: TemporalDevServer,
    directory: DirectoryFactory,
    db: Database,
    state_dir: Path,
) -> None:
    http, client = stack
    coordinator = directory.headers(directory.identity.coordinator)
    contact = directory.headers(directory.identity.contact)
    waiting = await start_discharge(http, directory)
    with_nav = await start_discharge(
        http, directory, needs={"nav": True}, consents={"share_with_nav": True}
    )
    ready = f"/api/v1/transitions/{waiting['id']}/ready-for-discharge"
    assert (await http.post(ready, headers=coordinator)).status_code == 200
    await continued_as_new(client, waiting["workflow_id"])
    for started in (waiting, with_nav):
        acknowledge = f"/api/v1/tasks/{started['tasks'][0]['id']}/acknowledge"
        assert (await http.post(acknowledge, headers=contact)).status_code == 200
    moved = {"expected_discharge_date": (date.today() + timedelta(days=30)).isoformat()}
    changed = await http.patch(
        f"/api/v1/transitions/{with_nav['id']}", json=moved, headers=coordinator
    )
    assert changed.status_code == 200, changed.text
    for started in (waiting, with_nav):
        cancel = f"/api/v1/transitions/{started['id']}/cancel"
        response = await http.post(cancel, json={"reason": "Feilregistrert"}, headers=coordinator)
        assert response.status_code == 200, response.text
    await eventually(lambda: all_closed(client), timeout=60, what="every workflow to close")
    before = await read_model_of(db, directory.number)
    assert len(before["transitions"]) == 3, "two discharges and the NAV handover"
    await lose_and_damage(db, before)
    assert await read_model_of(db, directory.number) != before

    printed = rebuild_cli(db.url, own_temporal.address, state_dir)

    after = await read_model_of(db, directory.number)
    for table in ("transitions", "tasks", "events"):
        assert after[table] == before[table], f"{table} differ after the rebuild"
    assert (
        f"{len(before['transitions'])} transitions, {len(before['tasks'])} tasks, "
        f"{len(before['events'])} timeline events" in printed
    )
