"""What an earlier run left under the state folder, and who holds the ports we need.

`overgang up` holds an exclusive lock on `up.lock` while it runs (the kernel drops it when the
process dies, even by `kill -9`) and writes its servers' pids beside it. On start it tells
its own leftovers (a server on our data folder or db file) from strangers (anything else on
our ports): leftovers are stopped cleanly, strangers stop the start before anything changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

from overgang.embedded.postgres import live_postmaster_pid, stop_server


class AlreadyRunning(RuntimeError):
    """Another `overgang up` holds this state folder."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        # A restore holds the same lock while it replaces the state.
        super().__init__(f"overgang up (or a restore) is running as pid {pid} on {state_dir}")
        self.pid = pid


@dataclass(frozen=True)
class Leftover:
    """A server of ours that outlived the run that started it."""

    name: str
    pid: int


@dataclass(frozen=True)
class Stranger:
    """A port we need, held by a process that is not ours (None: we may not see whose)."""

    port: int
    pid: int | None
    command: str

    def describe(self) -> str:
        owner = f"pid {self.pid} ({self.command})" if self.pid else "another user's process"
        return f"127.0.0.1:{self.port} is in use by {owner}"


@contextlib.contextmanager
def up_lock(state_dir: Path) -> Iterator[None]:
    """Held while `overgang up` runs; AlreadyRunning names the holder's pid."""
    lock_file = state_dir / "up.lock"
    with lock_file.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(state_dir, _holder(handle)) from None
        _write_pid(handle)
        try:
            yield
        finally:
            handle.truncate(0)


def running_up(state_dir: Path) -> int | None:
    """The pid of the `overgang up` that holds state_dir, if one does."""
    try:
        with up_lock(state_dir):
            return None
    except AlreadyRunning as running:
        return running.pid or -1
    except FileNotFoundError:  # no state folder: nothing runs on it
        return None


def _write_pid(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()


def _holder(handle: IO[str]) -> int | None:
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None


def write_pid_file(path: Path, pid: int) -> None:
    """pid and its start time: a reused pid is not mistaken for our server."""
    started = psutil.Process(pid).create_time()
    path.write_text(json.dumps({"pid": pid, "started": started}))


def _pid_file_process(path: Path) -> psutil.Process | None:
    try:
        recorded = json.loads(path.read_text())
        process = psutil.Process(int(recorded["pid"]))
        return process if process.create_time() == recorded["started"] else None
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None


def temporal_leftovers(db_file: Path, pid_file: Path) -> list[psutil.Process]:
    """Dev servers on our db file: the one in our pid file, and any started by hand or by
    an older `overgang up` that wrote none."""
    found = {p.pid: p for p in _processes_naming(("--db-filename", str(db_file)))}
    recorded = _pid_file_process(pid_file)
    if recorded is not None and _alive(recorded):
        found.setdefault(recorded.pid, recorded)
    return list(found.values())


def _processes_naming(arguments: tuple[str, str]) -> Iterator[psutil.Process]:
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        pairs = list(itertools.pairwise(command))
        if arguments in pairs and _alive(process):
            yield process


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def port_owner(port: int) -> psutil.Process | None:
    """Who listens on 127.0.0.1:port (or all addresses); None if nobody or we may not see."""
    with contextlib.suppress(psutil.AccessDenied):
        for connection in psutil.net_connections(kind="tcp"):
            if _listens_on(connection, port) and connection.pid:
                return psutil.Process(connection.pid)
    return None


def _listens_on(connection: Any, port: int) -> bool:
    local = connection.laddr
    return (
        connection.status == psutil.CONN_LISTEN
        and bool(local)
        and local.port == port
        and local.ip in ("127.0.0.1", "0.0.0.0", "::", "::1")
    )


def strangers(in_use: list[int], ours: list[psutil.Process]) -> list[Stranger]:
    """Of the ports in use, those held by a process that is not one of our leftovers."""
    our_pids = {p.pid for p in ours}
    found = []
    for port in in_use:
        owner = port_owner(port)
        if owner is None or owner.pid not in our_pids:
            found.append(Stranger(port, owner.pid if owner else None, _name(owner)))
    return found


def _name(process: psutil.Process | None) -> str:
    if process is None:
        return "unknown"
    try:
        return " ".join(process.cmdline()[:3]) or process.name()
    except psutil.Error:
        return "unknown"


def stop_temporal_leftover(process: psutil.Process, timeout: float = 15) -> None:
    """SIGTERM (a clean shutdown takes about 1.5 s), SIGKILL if it does not go."""
    for stop in (process.terminate, process.kill):
        with contextlib.suppress(psutil.NoSuchProcess):
            stop()
        if _gone_within(process, timeout):
            return
    raise RuntimeError(f"the leftover Temporal server (pid {process.pid}) does not exit")


def _gone_within(process: psutil.Process, seconds: float) -> bool:
    """Exited (a zombie counts: its parent, not we, must reap it)."""
    deadline = time.monotonic() + seconds
    while _alive(process):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def postgres_leftover(data_dir: Path) -> int | None:
    return live_postmaster_pid(data_dir)


def stop_postgres_leftover(data_dir: Path) -> None:
    stop_server(data_dir)
