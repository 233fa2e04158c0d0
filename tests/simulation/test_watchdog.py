"""The watchdog ends a run that stops moving, naming what it waited for; a run that keeps
moving is left alone however long it takes."""

from __future__ import annotations

import asyncio
import time

import pytest

from overgang.simulation.watchdog import SimulationStalled, Watchdog


async def test_a_command_that_never_answers_ends_the_run_naming_it() -> None:
    watchdog = Watchdog(stall_after=1.5)

    async def run() -> None:
        async with watchdog.doing("letting virtual time pass to 2026-12-23T08:00:00+00:00"):
            pass
        async with watchdog.doing("acknowledge", "discharge-t-17"):
            await asyncio.Event().wait()  # an update whose answer never comes

    started = time.monotonic()
    with pytest.raises(SimulationStalled) as stalled:
        await watchdog.guard(run(), lambda: "2026-12-23T08:00:00+00:00")

    assert time.monotonic() - started < 10
    message = str(stalled.value)
    assert "stuck: acknowledge on discharge-t-17" in message
    assert "last command sent: acknowledge on discharge-t-17" in message
    assert "at virtual 2026-12-23T08:00:00+00:00" in message


class StepClock:
    """Wall time that moves only when a step says so; tells when the watchdog has looked."""

    def __init__(self) -> None:
        self.now = 0.0
        self.read = asyncio.Event()

    def __call__(self) -> float:
        self.read.set()
        return self.now

    async def pass_and_be_looked_at(self, seconds: float) -> None:
        self.now += seconds
        self.read.clear()
        await self.read.wait()  # the guard's next look reads the clock


async def test_a_run_that_keeps_finishing_things_is_not_stopped() -> None:
    clock = StepClock()
    watchdog = Watchdog(stall_after=1.0, clock=clock)

    async def run() -> int:
        for step in range(6):  # 1.8 s in all, never 1 s without progress
            async with watchdog.doing(f"step {step}", f"discharge-t-{step}"):
                await clock.pass_and_be_looked_at(0.3)
        return 6

    assert await watchdog.guard(run(), lambda: "-") == 6


async def test_the_stuck_work_is_cancelled_not_left_running() -> None:
    watchdog = Watchdog(stall_after=1.0)
    cancelled = asyncio.Event()

    async def run() -> None:
        async with watchdog.doing("mark_ready", "discharge-t-1"):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

    with pytest.raises(SimulationStalled):
        await watchdog.guard(run(), lambda: "-")
    assert cancelled.is_set()
    assert watchdog.stuck_on() is None
