"""The app served over real HTTP (uvicorn on a free port, in the test's event loop): a module
of its own, so tests import it by a name no other conftest shares."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp
from temporalio.client import Client

from foundation.settings import Settings
from overgang.app import attach, create_app
from overgang.embedded import free_port
from store.database import Database


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free port in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # pytest's
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    assert server.started, "the web server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def web_app(settings: Settings, db: Database, temporal: Client) -> ASGIApp:
    app = create_app(settings, database_url=db.url)
    attach(app, db, temporal)
    return app
