"""The simulation's watchdog: a run that stops making progress (no sleep, command or check
finishes for a while of wall time) is ended with a message naming what it was waiting for,
instead of hanging until someone kills it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
LOOK_EVERY = 1.0  # wall seconds between the watchdog's looks


class SimulationStalled(RuntimeError):
    """Nothing moved for too long: a workflow task is stuck in the test server, or a command
    waits for an answer that will not come."""

    def __init__(self, message: str, stuck: Doing | None = None) -> None:
        super().__init__(message)
        self.stuck = stuck


@dataclass(frozen=True)
class Doing:
    """One thing the driver is waiting for: a sleep, a command, a check."""

    what: str
    workflow_id: str | None  # the workflow a command went to
    since: float


class Watchdog:
    def __init__(self, stall_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after = stall_after
        self.clock = clock  # wall time; tests pass their own
        self.last_beat = clock()
        self.last_command = "none yet"
        self._doing: dict[int, Doing] = {}
        self._ids = itertools.count()

    def beat(self) -> None:
        """Something finished: the run is moving."""
        self.last_beat = self.clock()

    @asynccontextmanager
    async def doing(self, what: str, workflow_id: str | None = None) -> AsyncIterator[None]:
        key = next(self._ids)
        self._doing[key] = Doing(what, workflow_id, self.clock())
        if workflow_id is not None:
            self.last_command = f"{what} on {workflow_id}"
        try:
            yield
        finally:
            del self._doing[key]
            self.beat()

    def stuck_on(self) -> Doing | None:
        """The oldest thing still waited for: the likeliest culprit."""
        return min(self._doing.values(), key=lambda d: d.since, default=None)

    def silence(self) -> float:
        return self.clock() - self.last_beat

    def explain(self, virtual_now: str) -> str:
        stuck = self.stuck_on()
        waiting = "nothing in flight"
        if stuck is not None:
            on = f" on {stuck.workflow_id}" if stuck.workflow_id else ""
            waiting = f"stuck: {stuck.what}{on}, waiting {self.clock() - stuck.since:.0f} s"
        return (
            f"no progress for {self.silence():.0f} s of wall time at virtual {virtual_now}; "
            f"{waiting}; {len(self._doing)} in flight; last command sent: {self.last_command}"
        )

    async def guard(self, work: Awaitable[T], virtual_now: Callable[[], str]) -> T:
        """Run `work`; if nothing beats for `stall_after` wall seconds, cancel it and raise."""
        self.beat()
        task = asyncio.ensure_future(work)
        while True:
            done, _ = await asyncio.wait({task}, timeout=LOOK_EVERY)
            if done:
                return task.result()
            if self.silence() > self.stall_after:
                message, stuck = self.explain(virtual_now()), self.stuck_on()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise SimulationStalled(message, stuck)
