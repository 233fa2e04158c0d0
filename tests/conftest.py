"""Real parts, started once per test session on free ports: embedded PostgreSQL, a Temporal
dev server, the worker, and the API app (called in-process over ASGI)."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import hypothesis
import pytest
from mail_sink import SmtpServer
from temporalio.client import Client
from temporalio.worker import Worker

from foundation.settings import Settings
from foundation.temporal_client import connect
from overgang.app import attach, create_app
from overgang.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from store.database import Database
from store.migrate import upgrade_async
from worker import build_worker
from workflows.search_attributes import cli_flags

from factories import DirectoryFactory, Identity

# A property's examples are quick, but on a busy machine any one of them can take longer
# than hypothesis' default deadline of 200 ms; that says nothing about the property.
hypothesis.settings.register_profile("overgang", deadline=None)
hypothesis.settings.load_profile("overgang")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Keep this checkout's temporary folders out of the shared /tmp/pytest-of-<user>: every
    pytest session that starts on the machine resets that folder to mode 0700, which locks
    the embedded PostgreSQL's system user out of a data folder another session is using.
    One folder per checkout, emptied by pytest when the next session here starts."""
    if config.option.basetemp is None:
        checkout = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:12]
        config.option.basetemp = str(Path(tempfile.gettempdir()) / f"overgang-tests-{checkout}")


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("overgang-state")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) the worker's e-mail channel delivers to."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(state_dir: Path, smtp_server: SmtpServer) -> Settings:
    return Settings(
        environment="test",
        state_dir=state_dir,
        temporal_task_queue="overgang-test",
        smtp_port=smtp_server.port,
    )


@pytest.fixture(scope="session")
def postgres(state_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(state_dir / "postgres", delete_on_stop=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def database_url(postgres: EmbeddedPostgres) -> str:
    url = postgres.sqlalchemy_url()
    await upgrade_async(url)
    return url


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def temporal_server(state_dir: Path) -> AsyncIterator[TemporalDevServer]:
    server = TemporalDevServer(
        state_dir / "temporal.db",
        port=free_port(),
        ui_port=None,
        search_attributes=cli_flags(),
        log_file=state_dir / "temporal.log",
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
async def temporal(settings: Settings, temporal_server: TemporalDevServer) -> Client:
    return await connect(settings, temporal_server.address)


@pytest.fixture(scope="session")
async def worker(temporal: Client, db: Database, settings: Settings) -> AsyncIterator[Worker]:
    running = build_worker(temporal, db, settings)
    task = asyncio.create_task(running.run())
    yield running
    await running.shutdown()
    await task


@pytest.fixture(scope="session")
async def app_client(
    settings: Settings, db: Database, temporal: Client, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database_url=db.url)
    attach(app, db, temporal)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://overgang.test") as client:
        yield client


@pytest.fixture
async def directory(db: Database, settings: Settings) -> DirectoryFactory:
    """A fresh municipality with its units, people and a fast policy, for one test."""
    factory = DirectoryFactory(db, settings)
    await factory.create()
    return factory


@pytest.fixture
def identity(directory: DirectoryFactory) -> Identity:
    return directory.identity


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit with the tests' status before interpreter finalisation: the Temporal SDK can print
    a fatal error while the interpreter shuts down (sdk-python #300), which would otherwise
    turn a green run red. Every fixture has been torn down by now."""
    if _exit_status:
        import os
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])
