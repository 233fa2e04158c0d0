"""The real stack on a Temporal server a test chooses (its own dev server, or the session's):
the worker and the API on a task queue of their own, with settings overridden."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from foundation.settings import Settings
from foundation.temporal_client import connect
from overgang.app import attach, create_app
from overgang.embedded import TemporalDevServer
from store.database import Database
from worker import build_worker


@asynccontextmanager
async def stack_on(
    server: TemporalDevServer,
    settings: Settings,
    db: Database,
    *,
    with_worker: bool = True,
    **overrides: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """Worker and API on a task queue of their own (or `temporal_task_queue` if overridden);
    without the worker, the test runs its own (see `worker_for`)."""
    queue = f"overgang-{uuid.uuid4().hex[:8]}"
    quick = settings.model_copy(update={"temporal_task_queue": queue, **overrides})
    client = await connect(quick, server.address)
    app = create_app(quick, database_url=db.url)
    attach(app, db, client)
    transport = httpx.ASGITransport(app=app)
    async with AsyncExitStack() as stack:
        if with_worker:
            await stack.enter_async_context(build_worker(client, db, quick))
        http = httpx.AsyncClient(transport=transport, base_url="http://overgang.test")
        yield await stack.enter_async_context(http), client


def worker_for(client: Client, db: Database, settings: Settings, queue: str) -> Worker:
    return build_worker(client, db, settings.model_copy(update={"temporal_task_queue": queue}))


async def timeline(http: httpx.AsyncClient, headers: dict[str, str], tid: str) -> list[Any]:
    """The transition's timeline as the API shows it."""
    response = await http.get(f"/api/v1/transitions/{tid}", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["timeline"])
