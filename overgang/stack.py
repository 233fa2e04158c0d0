"""`overgang up`: start, supervise and stop the whole system.

Embedded parts (PostgreSQL, the Temporal dev server) start only when no external service is
configured; then the migrations, the worker and the API run in this one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import uvicorn
from temporalio.client import Client
from temporalio.worker import Worker

from foundation.settings import Settings
from foundation.temporal_client import connect
from overgang.app import attach, create_app
from overgang.embedded import EmbeddedPostgres, TemporalDevServer
from store.database import Database
from store.migrate import upgrade_async
from worker import build_worker
from workflows.search_attributes import cli_flags


class Progress:
    """Readable progress on the terminal: one numbered line per step, with its time."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.done = 0
        self.started = time.monotonic()

    def step(self, message: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        print(f"[{self.done}/{self.steps}] {message} ({elapsed:.1f} s)", flush=True)


@dataclass
class Services:
    """The connections every part shares, and the embedded servers to stop on the way out."""

    database_url: str
    temporal_address: str
    postgres: EmbeddedPostgres | None = None
    temporal_server: TemporalDevServer | None = None


async def start_postgres(
    settings: Settings, progress: Progress
) -> tuple[str, EmbeddedPostgres | None]:
    if settings.database_url:
        progress.step("PostgreSQL: using DATABASE_URL")
        return settings.database_url, None
    postgres = EmbeddedPostgres(settings.postgres_dir)
    url = await asyncio.to_thread(postgres.start)
    progress.step(f"PostgreSQL: embedded, data in {settings.postgres_dir}")
    return url, postgres


async def start_temporal(
    settings: Settings, progress: Progress
) -> tuple[str, TemporalDevServer | None]:
    if settings.temporal_address:
        progress.step(f"Temporal: using {settings.temporal_address}")
        return settings.temporal_address, None
    server = TemporalDevServer(
        settings.temporal_db_file,
        port=settings.temporal_port,
        ui_port=settings.temporal_ui_port,
        namespace=settings.temporal_namespace,
        search_attributes=cli_flags(),
        log_file=settings.state_dir.resolve() / "temporal.log",
    )
    await server.start()
    progress.step(f"Temporal: embedded dev server, history in {settings.temporal_db_file}")
    return server.address, server


def _print_ready(settings: Settings, services: Services, seconds: float) -> None:
    base = f"http://{settings.api_host}:{settings.api_port}"
    ui = services.temporal_server.ui_url if services.temporal_server else None
    print(f"\novergang is ready in {seconds:.1f} s", flush=True)
    print(f"  Web pages:    {base}/  (sign in as a demo user after `overgang demo`)")
    print(f"  API:          {base}/api/v1")
    print(f"  OpenAPI docs: {base}/docs")
    if ui:
        print(f"  Temporal UI:  {ui}")
    print(f"  Temporal:     {services.temporal_address} (namespace {settings.temporal_namespace})")
    print("  Load the demo directory with `overgang demo`; stop with Ctrl-C.\n", flush=True)


async def up(settings: Settings) -> None:
    """Run everything until Ctrl-C or SIGTERM, then stop it all in reverse order."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    progress = Progress(steps=4)
    async with AsyncExitStack() as stack:
        database_url, postgres = await start_postgres(settings, progress)
        if postgres is not None:
            stack.callback(postgres.stop)
        await upgrade_async(database_url)
        progress.step("Migrations applied")
        address, temporal_server = await start_temporal(settings, progress)
        if temporal_server is not None:
            stack.push_async_callback(temporal_server.stop)
        services = Services(database_url, address, postgres, temporal_server)
        db = Database(database_url)
        stack.push_async_callback(db.dispose)
        client = await connect(settings, address)
        worker = build_worker(client, db, settings)
        server = _api_server(settings, db, client)
        progress.step("Worker and API starting")
        await _serve(
            worker,
            server,
            lambda: _print_ready(settings, services, time.monotonic() - progress.started),
        )
    print("overgang stopped.", flush=True)


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: `up` stops every part, in order, itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _api_server(settings: Settings, db: Database, client: Client) -> uvicorn.Server:
    app = create_app(settings, database_url=db.url)
    attach(app, db, client)
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        # A request that hangs (a worker that does not answer) must not hold up Ctrl-C.
        timeout_graceful_shutdown=5,
    )
    return _ApiServer(config)


async def _serve(worker: Worker, server: uvicorn.Server, on_ready: object) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    worker_task = asyncio.create_task(worker.run())
    server_task = asyncio.create_task(server.serve())
    while not server.started and not server_task.done():  # noqa: ASYNC110 (uvicorn has no event)
        await asyncio.sleep(0.05)
    if server_task.done():
        await server_task
        raise SystemExit(f"the API could not start on port {server.config.port}")
    on_ready()  # type: ignore[operator]
    await _until_stopped(stop, worker_task, server_task)
    print("\nStopping: API, worker, Temporal, PostgreSQL ...", flush=True)
    server.should_exit = True
    await server_task
    await worker.shutdown()


async def _until_stopped(stop: asyncio.Event, *tasks: asyncio.Task[None]) -> None:
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            print(f"overgang: a part failed: {task.exception()!r}", file=sys.stderr)


async def existing_services(settings: Settings) -> tuple[str, str]:
    """For `overgang worker`, `api`, `migrate` and `demo`: the configured services, or the
    embedded ones `overgang up` runs (PostgreSQL is started if it is not running)."""
    if settings.database_url:
        database_url = settings.database_url
    else:
        database_url = await asyncio.to_thread(EmbeddedPostgres(settings.postgres_dir).start)
    address = settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"
    return database_url, address
