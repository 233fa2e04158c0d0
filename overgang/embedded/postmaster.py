"""The embedded PostgreSQL server as a child of `overgang up`, so the supervisor sees it die.

`pg_ctl start` (what EmbeddedPostgres and the short commands use) detaches the server; here
the postmaster runs in the foreground under us, in its own process group, and gets SIGINT
(PostgreSQL's fast shutdown) if we die, so a killed supervisor leaves no server behind.
The data folder, socket folder and URL are the same as EmbeddedPostgres's: the short
commands (`overgang demo`, `overgang token`) find and use this server while it runs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
from pathlib import Path
from typing import IO

from overgang.embedded.postgres import (
    DATABASE,
    EmbeddedPostgresError,
    create_database,
    live_postmaster_pid,
    postgres_binary,
    prepare_data_dir,
    remove_stale_lock_files,
    socket_dir_for,
    sqlalchemy_url,
    system_user,
)
from overgang.embedded.processes import die_with_parent, signal_group, wait_for_exit

log = logging.getLogger(__name__)


class Postmaster:
    """`postgres -D data_dir` on a Unix socket only, started and watched by this process."""

    def __init__(self, data_dir: Path, log_file: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            raise EmbeddedPostgresError("the postmaster was never started")
        return self._socket_dir

    @property
    def url(self) -> str:
        return sqlalchemy_url(self.socket_dir, DATABASE)

    # The timeout is part of the contract: on expiry the half-started server is stopped.
    async def start(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Spawn the postmaster and return once it accepts connections and has our database."""
        if live_postmaster_pid(self.data_dir) is not None:
            raise EmbeddedPostgresError(f"a PostgreSQL server already runs on {self.data_dir}")
        await asyncio.to_thread(self._prepare)
        self._spawn()  # in this (the event loop's) thread: see processes.die_with_parent
        try:
            async with asyncio.timeout(timeout):
                await self._wait_until_ready()
            await asyncio.to_thread(create_database, self.socket_dir, DATABASE)
        except BaseException:
            await self.stop()
            raise

    async def wait(self) -> int:
        """Until the postmaster exits (for any reason); its return code."""
        if self._process is None:
            raise EmbeddedPostgresError("the postmaster was never started")
        return await wait_for_exit(self._process)

    async def stop(self, timeout: float = 30) -> None:  # noqa: ASYNC109 (SIGKILL on expiry)
        """Fast shutdown (SIGINT: transactions roll back, a checkpoint is written)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        signal_group(process.pid, signal.SIGINT)
        try:
            async with asyncio.timeout(timeout):
                await wait_for_exit(process)
        except TimeoutError:
            log.warning("PostgreSQL ignored a fast shutdown for %s s; killing it", timeout)
            self.kill()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            signal_group(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def _prepare(self) -> None:
        prepare_data_dir(self.data_dir)
        remove_stale_lock_files(self.data_dir)
        self._socket_dir = socket_dir_for(self.data_dir)

    def _spawn(self) -> None:
        command = [str(postgres_binary("postgres")), "-D", str(self.data_dir)]
        command += ["-h", "", "-k", str(self.socket_dir)]  # no TCP: the Unix socket only
        with self._open_log() as output:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                user=system_user(),
                process_group=0,
                preexec_fn=die_with_parent(signal.SIGINT),
            )
        log.info("Started PostgreSQL (pid %s): %s", self._process.pid, " ".join(command))

    def _open_log(self) -> IO[bytes]:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        return self.log_file.open("ab")

    async def _wait_until_ready(self) -> None:
        while not self._ready():
            if self._process is not None and self._process.poll() is not None:
                raise EmbeddedPostgresError(
                    f"PostgreSQL exited with code {self._process.returncode} during start; "
                    f"see {self.log_file}:\n{self._log_tail()}"
                )
            await asyncio.sleep(0.05)

    def _ready(self) -> bool:
        """postmaster.pid names our process and says `ready` (what pg_ctl -w waits for)."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return False
        return len(lines) >= 8 and lines[0].strip() == str(self.pid) and lines[7].strip() == "ready"

    def _log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-size:]
        except FileNotFoundError:
            return ""
