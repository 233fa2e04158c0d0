"""Background work of a workflow (timers, watchers, writes, notices), supervised.

asyncio tasks that nobody awaits lose their exceptions: a watcher that raised simply stops,
and the transition stops moving without a sign. The :class:`Supervisor` keeps the first
error; the workflow's main coroutine raises it (``check``), which fails the workflow task:
Temporal retries it, and the Web UI and the history show the error until it is fixed.

It also knows whether work is in flight (a notice being sent, a read-model write, a child
being started), so continue-as-new and completion wait for it instead of dropping it.
Long-lived timers (``watch``) are not work: the next run restarts them from the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any


class BackgroundWorkFailed(RuntimeError):
    """Background work raised. Not an ApplicationError: it fails the workflow task (retried,
    visible), never the workflow."""


class Supervisor:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()  # the event loop holds tasks weakly
        self._work_in_flight = 0
        self.failure: BackgroundWorkFailed | None = None

    def watch(self, name: str, timer: Coroutine[Any, Any, None]) -> None:
        """Run a long-lived timer (a watcher) in the background."""
        self._start(name, timer, work=False)

    def run(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run work in the background; continue-as-new and completion wait for it."""
        self._start(name, work, work=True)

    @asynccontextmanager
    async def busy(self) -> AsyncIterator[None]:
        """Mark a stretch of a watcher as work (it must not be cut by continue-as-new)."""
        self._work_in_flight += 1
        try:
            yield
        finally:
            self._work_in_flight -= 1

    @property
    def idle(self) -> bool:
        return self._work_in_flight == 0

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def check(self) -> None:
        """Raise the first error of background work, if any."""
        if self.failure is not None:
            raise self.failure

    def _start(self, name: str, coroutine: Coroutine[Any, Any, None], *, work: bool) -> None:
        if work:  # counted from now, not from when the task first runs
            self._work_in_flight += 1
        task = asyncio.create_task(self._supervised(name, coroutine, work=work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _supervised(
        self, name: str, coroutine: Coroutine[Any, Any, None], *, work: bool
    ) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if self.failure is None:
                self.failure = BackgroundWorkFailed(f"{name}: {type(error).__name__}: {error}")
                self.failure.__cause__ = error
        finally:
            if work:
                self._work_in_flight -= 1
