"""Keep the parts of `overgang up` running: a part that dies is started again, with backoff.

A part is a server process (PostgreSQL, the Temporal dev server) or a task in this process
(the worker). Each death and each comeback is one line on the terminal, naming the part, its
pid and how it ended, so an operator sees what happened without reading tracebacks (a log
line: JSON where logs are collected, plain at a terminal).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from overgang.embedded.processes import exit_description

LOG = logging.getLogger("overgang.supervisor")


class Part(Protocol):
    name: str

    @property
    def pid(self) -> int | None: ...

    async def start(self) -> None:
        """Return once the part serves; raise if it cannot."""

    async def wait(self) -> str:
        """Return how the part ended, once it has (e.g. `killed by SIGKILL`)."""

    async def stop(self) -> None: ...


class Server(Protocol):
    """What Postmaster and TemporalDevServer have in common."""

    @property
    def pid(self) -> int | None: ...

    async def start(self) -> None: ...

    async def wait(self) -> int: ...

    async def stop(self) -> None: ...


class ServerPart:
    """A server process as a part; on_start gets each new pid (for the pid files)."""

    def __init__(self, name: str, server: Server, on_start: Callable[[int], None]) -> None:
        self.name = name
        self.server = server
        self.on_start = on_start

    @property
    def pid(self) -> int | None:
        return self.server.pid

    async def start(self) -> None:
        await self.server.start()
        if self.server.pid is not None:
            self.on_start(self.server.pid)

    async def wait(self) -> str:
        return exit_description(await self.server.wait())

    async def stop(self) -> None:
        await self.server.stop()


@dataclass(frozen=True)
class Backoff:
    """Waits between restarts: first, doubling up to most; back to first once a part has
    run for `steady` seconds (a part that keeps dying at once is not restarted in a loop)."""

    first: float = 0.5
    most: float = 30.0
    steady: float = 60.0

    def after(self, delay: float) -> float:
        return min(delay * 2, self.most)


class Supervisor:
    """Starts parts in order, restarts the ones that die, stops them in reverse order."""

    def __init__(self, log: logging.Logger = LOG, backoff: Backoff = Backoff()) -> None:
        self.log = log
        self.backoff = backoff
        self._parts: list[Part] = []
        self._up: dict[str, bool] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._retired: set[str] = set()  # stopped on purpose: never restarted

    async def start(self, part: Part) -> None:
        """Start a part now (a failure here fails the start of `overgang up`)."""
        await part.start()
        self._parts.append(part)
        self._up[part.name] = True

    def watch(self) -> None:
        """From now on, restart every started part that dies."""
        for part in self._parts:
            self._watchers[part.name] = asyncio.create_task(self._keep(part))

    def status(self) -> dict[str, bool]:
        """Part name -> whether it runs now."""
        return dict(self._up)

    async def stop(self, only: Part | None = None) -> None:
        """Stop one part for good, or all of them in reverse order of their start."""
        for part in [only] if only is not None else list(reversed(self._parts)):
            self._retired.add(part.name)
            watcher = self._watchers.pop(part.name, None)
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            await part.stop()
            self._up[part.name] = False

    async def _keep(self, part: Part) -> None:
        delay = self.backoff.first
        while part.name not in self._retired:
            started, pid = time.monotonic(), part.pid
            ended = await part.wait()
            if part.name in self._retired:
                return
            self._up[part.name] = False
            if time.monotonic() - started > self.backoff.steady:
                delay = self.backoff.first
            named = _named(part.name, pid)
            self.log.warning("%s died: %s; restarting in %s s", named, ended, delay)
            delay = await self._restart(part, delay)

    async def _restart(self, part: Part, delay: float) -> float:
        """Start the part again, waiting `delay` before each try; the next delay."""
        died = time.monotonic()
        while True:
            await asyncio.sleep(delay)  # backoff: not waiting for a condition
            delay = self.backoff.after(delay)
            try:
                await part.start()
            except Exception as error:  # any failure: try again later, and say why
                reason = str(error).splitlines()[0] if str(error) else repr(error)
                self.log.warning("%s did not start: %s; next try in %s s", part.name, reason, delay)
                continue
            self._up[part.name] = True
            back = time.monotonic() - died
            self.log.info("%s is back after %.1f s", _named(part.name, part.pid), back)
            return delay


def _named(name: str, pid: int | None) -> str:
    return name if pid is None else f"{name} (pid {pid})"
