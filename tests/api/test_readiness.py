"""/readyz names each part (postgres, temporal, worker) and answers 503 while one is down.

The e2e tests (tests/e2e/test_supervisor.py) kill real servers under `overgang up`; here the
worker's two sources are checked: the supervisor's word in `up`, Temporal's record of polls
elsewhere."""

from __future__ import annotations

import uuid

import httpx
from temporalio.client import Client

from foundation.settings import Settings
from overgang.app import attach, create_app
from store.database import Database

from polling import eventually


async def readiness(
    settings: Settings, db: Database, temporal: Client, **state: object
) -> httpx.Response:
    app = create_app(settings, database_url=db.url)
    attach(app, db, temporal)
    for name, value in state.items():
        setattr(app.state, name, value)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ready.test") as http:
        return await http.get("/readyz")


async def test_ready_names_every_part_up(app_client: httpx.AsyncClient) -> None:
    async def ready() -> httpx.Response | None:
        response = await app_client.get("/readyz")
        return response if response.status_code == 200 else None

    # The session's worker counts once Temporal has seen its first poll.
    response = await eventually(ready, timeout=30, what="/readyz 200")
    assert response.json() == {
        "status": "ready",
        "parts": {"postgres": "up", "temporal": "up", "worker": "up"},
    }


async def test_a_worker_the_supervisor_reports_down_makes_it_not_ready(
    settings: Settings, db: Database, temporal: Client
) -> None:
    response = await readiness(settings, db, temporal, worker_running=lambda: False)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["parts"] == {"postgres": "up", "temporal": "up", "worker": "down"}
    assert body["detail"] == "not reachable: worker"


async def test_a_task_queue_nobody_polls_has_no_worker(
    settings: Settings, db: Database, temporal: Client
) -> None:
    lonely = settings.model_copy(update={"temporal_task_queue": f"nobody-{uuid.uuid4()}"})
    response = await readiness(lonely, db, temporal)
    assert response.status_code == 503
    assert response.json()["parts"]["worker"] == "down"
