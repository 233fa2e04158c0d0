"""`overgang up`: start, supervise and stop the whole system.

Embedded parts (PostgreSQL, the Temporal dev server, a mail catcher) start only when no
external service is configured; then the migrations, the worker and the API run in this one
process. The servers are children that die with it (overgang.embedded.processes); one that
dies is started again (overgang.supervisor); leftovers of an earlier run are stopped first
(overgang.embedded.leftovers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from temporalio.client import Client
from temporalio.worker import Worker

from api.caught_mail.routes import PATH as CAUGHT_MAIL_API
from foundation.settings import Settings
from foundation.temporal_client import connect
from overgang.app import attach, create_app
from overgang.embedded import EmbeddedPostgres, TemporalDevServer
from overgang.embedded.extra import missing_embedded
from overgang.embedded.leftovers import (
    AlreadyRunning,
    postgres_leftover,
    stop_postgres_leftover,
    stop_temporal_leftover,
    strangers,
    temporal_leftovers,
    up_lock,
    write_pid_file,
)
from overgang.embedded.mail_catcher import MailCatcher
from overgang.embedded.ports import port_in_use
from overgang.embedded.postmaster import Postmaster
from overgang.supervisor import ServerPart, Supervisor
from store.caught_mail import CaughtMailbox
from store.database import Database
from store.migrate import upgrade_async
from web.routes.caught_mail import PAGE_PATH as CAUGHT_MAIL_PAGE
from worker import build_worker
from workflows.search_attributes import cli_flags

log = logging.getLogger(__name__)


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
    """The connections every part shares, and what the ready message names."""

    database_url: str
    temporal_address: str
    temporal_ui: str | None = None
    mail_catcher: MailCatcher | None = None


async def clear_leftovers(settings: Settings) -> None:
    """Stop what an earlier run left on our state folder; refuse if strangers hold our ports
    (before anything is stopped, so a failed start changes nothing)."""
    temporal = (
        temporal_leftovers(settings.temporal_db_file, _temporal_pid_file(settings))
        if settings.embedded_temporal
        else []
    )
    in_use = [port for port in _ports(settings) if port_in_use(port)]
    found = strangers(in_use, temporal)
    if found:
        held = "; ".join(stranger.describe() for stranger in found)
        raise SystemExit(f"overgang up cannot start: {held}. Nothing was started or stopped.")
    for process in temporal:
        await asyncio.to_thread(stop_temporal_leftover, process)
        log.warning("stopped a leftover temporal server (pid %s) of an earlier run", process.pid)
    if settings.embedded_postgres:
        pid = postgres_leftover(settings.postgres_dir)
        if pid is not None:
            await asyncio.to_thread(stop_postgres_leftover, settings.postgres_dir)
            log.warning("stopped a leftover postgres server (pid %s) of an earlier run", pid)


def _ports(settings: Settings) -> list[int]:
    """The TCP ports `overgang up` will listen on."""
    ports = [settings.api_port]
    if settings.embedded_temporal:
        ports += [settings.temporal_port, settings.temporal_ui_port]
    if not settings.smtp_configured:
        ports.append(settings.smtp_port)
    return ports


def _temporal_pid_file(settings: Settings) -> Path:
    return settings.state_dir.resolve() / "temporal.pid"


async def start_postgres(settings: Settings, supervisor: Supervisor, progress: Progress) -> str:
    if settings.database_url:
        progress.step("PostgreSQL: using DATABASE_URL")
        return settings.database_url
    postmaster = Postmaster(settings.postgres_dir, settings.state_dir.resolve() / "postgres.log")
    # postmaster.pid in the data folder is PostgreSQL's own pid file.
    await supervisor.start(ServerPart("postgres", postmaster, on_start=lambda pid: None))
    progress.step(f"PostgreSQL: embedded, data in {settings.postgres_dir}")
    return postmaster.url


async def start_temporal(
    settings: Settings, supervisor: Supervisor, progress: Progress
) -> tuple[str, str | None]:
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
    pid_file = _temporal_pid_file(settings)
    await supervisor.start(
        ServerPart("temporal", server, on_start=lambda pid: write_pid_file(pid_file, pid))
    )
    progress.step(f"Temporal: embedded dev server, history in {settings.temporal_db_file}")
    return server.address, server.ui_url


async def start_mail_catcher(settings: Settings, progress: Progress) -> MailCatcher | None:
    if settings.smtp_configured:
        progress.step(f"E-mail: SMTP server {settings.smtp_host}:{settings.smtp_port}")
        return None
    catcher = MailCatcher(CaughtMailbox(settings.caught_mail_dir), settings.smtp_port)
    await catcher.start()
    progress.step(f"E-mail: caught on {catcher.address}, not sent (OVERGANG_SMTP_HOST unset)")
    return catcher


class WorkerPart:
    """The Temporal worker, run in this process; a new Worker for every (re)start."""

    name = "worker"
    pid = None

    def __init__(self, build: Callable[[], Worker]) -> None:
        self.build = build
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._worker = self.build()
        self._task = asyncio.create_task(self._worker.run())

    async def wait(self) -> str:
        assert self._task is not None
        await asyncio.wait([self._task])  # not `await task`: a cancelled watcher leaves it be
        error = self._task.exception()
        return "stopped" if error is None else f"failed: {error!r}"

    async def stop(self) -> None:
        if self._worker is not None and self._task is not None and not self._task.done():
            await self._worker.shutdown()
        if self._task is not None:
            await asyncio.wait([self._task])


def _print_ready(settings: Settings, services: Services, seconds: float) -> None:
    base = f"http://{settings.api_host}:{settings.api_port}"
    print(f"\novergang is ready in {seconds:.1f} s", flush=True)
    print(f"  Web pages:    {base}/  (sign in as a demo user after `overgang demo`)")
    print(f"  API:          {base}/api/v1")
    print(f"  OpenAPI docs: {base}/docs")
    if services.temporal_ui:
        print(f"  Temporal UI:  {services.temporal_ui}")
    print(f"  Temporal:     {services.temporal_address} (namespace {settings.temporal_namespace})")
    if services.mail_catcher:
        print(f"  E-mail:       caught on {services.mail_catcher.address}; administrators read it")
        print(f"                at {base}{CAUGHT_MAIL_PAGE} (JSON: {base}{CAUGHT_MAIL_API})")
    print(f"  Readiness:    {base}/readyz (names the part that is down)")
    print("  Load the demo directory with `overgang demo`; stop with Ctrl-C.\n", flush=True)


async def up(settings: Settings) -> None:
    """Run everything until Ctrl-C or SIGTERM, then stop it all in reverse order."""
    missing = missing_embedded(settings)
    if missing is not None:
        raise SystemExit(f"overgang up kan ikke starte: {missing}")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        with up_lock(settings.state_dir.resolve()):
            await _up(settings)
    except AlreadyRunning as running:
        raise SystemExit(f"overgang: {running}; stop that one first.") from None
    print("overgang stopped.", flush=True)


async def _up(settings: Settings) -> None:
    progress = Progress(steps=5)
    await clear_leftovers(settings)
    supervisor = Supervisor()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(supervisor.stop)  # last out: whatever this run started
        database_url = await start_postgres(settings, supervisor, progress)
        await upgrade_async(database_url)
        progress.step("Migrations applied")
        address, ui = await start_temporal(settings, supervisor, progress)
        catcher = await start_mail_catcher(settings, progress)
        if catcher is not None:
            stack.push_async_callback(catcher.stop)
        db = Database(database_url)
        stack.push_async_callback(db.dispose)
        client = await connect(settings, address)
        worker = WorkerPart(lambda: build_worker(client, db, settings))
        await supervisor.start(worker)
        server = _api_server(settings, db, client, supervisor)
        progress.step("Worker and API starting")
        services = Services(database_url, address, ui, catcher)
        supervisor.watch()
        await _serve(
            server,
            lambda: supervisor.stop(worker),
            lambda: _print_ready(settings, services, time.monotonic() - progress.started),
        )


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: `up` stops every part, in order, itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _api_server(
    settings: Settings, db: Database, client: Client, supervisor: Supervisor
) -> uvicorn.Server:
    app = create_app(settings, database_url=db.url)
    attach(app, db, client)
    # /readyz asks the supervisor whether the worker runs (it shares this process).
    app.state.worker_running = lambda: supervisor.status().get("worker", False)
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        # A request that hangs (a worker that does not answer) must not hold up Ctrl-C.
        timeout_graceful_shutdown=5,
    )
    return _ApiServer(config)


async def _serve(
    server: uvicorn.Server,
    stop_worker: Callable[[], Awaitable[None]],
    on_ready: Callable[[], None],
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server_task = asyncio.create_task(server.serve())
    while not server.started and not server_task.done():  # noqa: ASYNC110 (uvicorn has no event)
        await asyncio.sleep(0.05)
    if server_task.done():
        await server_task
        raise SystemExit(f"the API could not start on port {server.config.port}")
    on_ready()
    await _until_stopped(stop, server_task)
    print("\nStopping: API, worker, e-mail, Temporal, PostgreSQL ...", flush=True)
    server.should_exit = True
    await server_task
    await stop_worker()  # before the database pool closes; the servers stop after it


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
