"""The one way a workflow waits for a deadline: a durable timer that follows the deadline
when it moves (an update moved the discharge date) and that a condition can end early."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

Deadline = Callable[[], datetime | None]


async def wait_for_deadline(deadline: Deadline, stop: Callable[[], bool]) -> bool:
    """Wait until `deadline()` has come (True) or `stop()` holds (False), whichever is first.

    The deadline is read again whenever it changes, so moving it earlier or later restarts
    the timer; None means no deadline (yet): wait for one, or for `stop`.
    """
    while not stop():
        at = deadline()
        if at is None:
            await workflow.wait_condition(lambda: stop() or deadline() is not None)
            continue
        remaining = at - workflow.now()
        if remaining <= timedelta(0):
            return True
        await _sleep_until_moved(at, remaining, deadline, stop)
    return False


async def _sleep_until_moved(
    at: datetime, remaining: timedelta, deadline: Deadline, stop: Callable[[], bool]
) -> None:
    """Sleep `remaining`, unless the deadline moves away from `at` or `stop` holds first."""
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(lambda: stop() or deadline() != at, timeout=remaining)


async def wait_until(at: datetime, stop: Callable[[], bool]) -> bool:
    """Wait until the fixed instant `at` (True) or until `stop()` holds (False)."""
    return await wait_for_deadline(lambda: at, stop)
