"""`overgang up` as a supervisor, tried with `kill -9` on real processes: a killed `up` leaves
nothing behind and starts again; a killed Temporal server or postmaster comes back without a
human, and /readyz names the part that is down meanwhile (issue 12, observations 1 and 2)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest
from up_process import OVERGANG, UpProcess, wait_until

from overgang.embedded import EmbeddedPostgres
from overgang.embedded.ports import port_in_use
from overgang.embedded.temporal_server import TemporalDevServer
from workflows.search_attributes import cli_flags

from factories import make_fodselsnummer


@pytest.fixture
def up() -> Iterator[UpProcess]:
    # Not under pytest's tmp_path: every pytest session that starts on this machine sets
    # /tmp/pytest-of-<user> back to 0700, shutting out PostgreSQL's system user midway.
    folder = Path(tempfile.mkdtemp(prefix="overgang-e2e-"))
    running = UpProcess(folder / "state")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()
    for process in running.servers():  # whatever a failed test left: never leak servers
        process.kill()
    shutil.rmtree(folder, ignore_errors=True)


def _ready(up: UpProcess) -> bool:
    return up.readiness()[0] == 200


def _down(up: UpProcess, part: str) -> bool:
    status, body = up.readiness()
    return status == 503 and body.get("parts", {}).get(part) == "down"


def _gone(processes: list[psutil.Process]) -> bool:
    return not any(_alive(process) for process in processes)


def _alive(process: psutil.Process) -> bool:
    try:  # a zombie holds no port and no file: nobody may be left to reap it here
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.timeout(240)  # whole stacks start here: slow on a busy machine
def test_killed_up_leaves_no_process_and_starts_again(up: UpProcess) -> None:
    up.start()
    servers = up.servers()
    assert {p.info["name"] for p in servers} >= {"postgres", "temporal"}, servers

    up.kill()
    seconds = wait_until(lambda: _gone(servers), timeout=20, what="every server of `up` to exit")
    print(f"\nafter kill -9 of `overgang up`, its servers were gone in {seconds:.1f} s")
    assert up.servers() == []

    # What an `up` from before this fix left behind: its Temporal server, on our ports and db.
    with _old_style_orphan(up) as orphan:
        restart = up.start()
        print(f"a new `overgang up` was ready in {restart:.1f} s")
        assert f"stopped a leftover temporal server (pid {orphan.pid})" in up.output()
        assert orphan.wait(timeout=10) is not None
    assert up.readiness()[0] == 200


@contextlib.contextmanager
def _old_style_orphan(up: UpProcess) -> Iterator[subprocess.Popen[bytes]]:
    as_up_starts_it = TemporalDevServer(
        up.state_dir / "temporal.db",
        port=up.ports["temporal"],
        ui_port=up.ports["ui"],
        search_attributes=cli_flags(),
        log_file=None,
    )
    orphan = subprocess.Popen(
        as_up_starts_it.command(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # nobody's child that dies with it
    )
    try:
        wait_until(lambda: port_in_use(up.ports["temporal"]), timeout=30, what="the orphan")
        yield orphan
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


@pytest.mark.timeout(240)  # whole stacks start here: slow on a busy machine
def test_dead_parts_come_back_and_readyz_names_them(up: UpProcess) -> None:
    up.start()
    up.run("demo")
    assert _ready(up)

    for part, name in (("temporal", "temporal"), ("postgres", "postgres")):
        server = up.server(name)
        server.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda part=part: _down(up, part), timeout=10, what=f"/readyz to name {part}")
        wait_until(lambda: _ready(up), timeout=60, what=f"/readyz 200 after {part} came back")
        print(f"\n{part} killed: /readyz 200 again after {time.monotonic() - killed:.1f} s")
        assert up.server(name).pid != server.pid
        assert f"{part} (pid {server.pid}) died: killed by SIGKILL" in up.output()

    _start_a_discharge(up)  # the worker, Temporal and PostgreSQL work together again

    assert up.process is not None
    second = subprocess.run([OVERGANG, "up"], env=up.env, capture_output=True, text=True)
    assert second.returncode != 0
    assert f"is running as pid {up.process.pid}" in second.stderr, second.stderr


def _start_a_discharge(up: UpProcess) -> None:
    coordinator = up.token("dps-halden-kontakt")
    body = {
        "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Ola Nordmann"},
        "what_matters": "Å komme hjem.",
        "municipality_number": "3101",
        "origin_unit_id": "dps-halden",
        "expected_discharge_date": (datetime.now(UTC).date() + timedelta(days=10)).isoformat(),
    }
    response = httpx.post(
        f"{up.base_url}/api/v1/discharges",
        json=body,
        headers={"Authorization": f"Bearer {coordinator}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text


@pytest.mark.timeout(240)  # whole stacks start here: slow on a busy machine
def test_a_failed_start_stops_nothing_it_did_not_start(up: UpProcess) -> None:
    """A stranger on Temporal's port: `up` names it and leaves the running PostgreSQL alone."""
    postgres = EmbeddedPostgres(up.state_dir / "postgres")
    postgres.start()  # as `overgang demo` would, before `up`
    stranger = socket.create_server(("127.0.0.1", up.ports["temporal"]))
    try:
        process = up.spawn()
        assert process.wait(timeout=60) != 0
        assert postgres.is_running(), up.output()
        assert f"127.0.0.1:{up.ports['temporal']} is in use by pid {os.getpid()}" in up.output()
    finally:
        stranger.close()
        postgres.stop()
