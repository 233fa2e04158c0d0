"""A simulated person's command waits while a timer of the commanded workflow's family is
about to fire, its parent's and children's as much as its own: the command can make any of
them cancel that timer, and the time-skipping test server wedges a workflow that cancels a
timer which fired while its workflow task ran (temporalio/sdk-java #2606). A handover that
ends tells its discharge, which then stops counting waiting days: the timer cancelled is the
parent's, not the handover's.

Two small workflows stand in for a discharge and its handover, so the test controls exactly
which timer is due when; their worker runs them through the simulation's TimerWatch, whose
view of the timers is compared with the histories a real Temporal server keeps."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from overgang.simulation.commands import AFTER_THE_TIMER, Commands, Deferred
from overgang.simulation.diagnosis import family_timers_of, wedged_among
from overgang.simulation.timer_watch import Timers, TimerWatch
from overgang.simulation.watchdog import Watchdog

PARENT_TIMER = timedelta(hours=1)
CHILD_TIMER = timedelta(hours=2)


@workflow.defn
class Child:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.done, timeout=CHILD_TIMER)

    @workflow.update
    def ready(self) -> None:
        """Answered with the first task's commands, the timer's among them."""

    @workflow.update
    def finish(self) -> str:
        self.done = True
        return "finished"


@workflow.defn
class Parent:
    def __init__(self) -> None:
        self.child_started = False

    @workflow.run
    async def run(self, child_id: str) -> None:
        timer = asyncio.ensure_future(workflow.sleep(PARENT_TIMER))  # started in the first task
        await workflow.start_child_workflow(Child.run, id=child_id)
        self.child_started = True
        await timer

    @workflow.update
    async def child_running(self) -> None:
        await workflow.wait_condition(lambda: self.child_started)


@pytest.fixture
async def family(temporal: Client, doubles: Worker) -> AsyncIterator[tuple[str, str]]:
    """A parent with a timer due in an hour and its child with one due in two, both running;
    ended after the test, so nothing of it lingers on the session's server."""
    suffix = uuid.uuid4().hex[:8]
    parent_id, child_id = f"parent-{suffix}", f"child-{suffix}"
    handle = await temporal.start_workflow(
        Parent.run, child_id, id=parent_id, task_queue=_queue(temporal)
    )
    await handle.execute_update(Parent.child_running)
    await temporal.get_workflow_handle(child_id).execute_update(Child.ready)
    yield parent_id, child_id
    await _end(temporal, child_id, parent_id)


async def _end(client: Client, *workflow_ids: str) -> None:
    for workflow_id in workflow_ids:
        with contextlib.suppress(RPCError):  # already closed
            await client.get_workflow_handle(workflow_id).terminate("test over")


def _queue(client: Client) -> str:
    return f"deferral-{id(client)}"


@pytest.fixture
def watch() -> TimerWatch:
    return TimerWatch(UnsandboxedWorkflowRunner())  # test doubles, not the product's code


@pytest.fixture
async def doubles(temporal: Client, watch: TimerWatch) -> AsyncIterator[Worker]:
    """A worker for the two stand-ins, on a task queue of their own."""
    running = Worker(
        temporal,
        task_queue=_queue(temporal),
        workflows=[Parent, Child],
        workflow_runner=watch,
    )
    async with running:
        yield running


def _due(timers: Timers, workflow_id: str) -> datetime:
    [due] = [due for owner, due in timers if owner == workflow_id]
    return due


async def _timers_agree(temporal: Client, watch: TimerWatch, workflow_id: str) -> Timers:
    """The family's timers from the worker's activations, checked against the histories
    (the history's start is when the workflow task completed, the activation's when it
    began: a moment apart)."""
    seen, recorded = (
        await watch.family_timers(workflow_id),
        await family_timers_of(temporal, workflow_id),
    )
    assert sorted(owner for owner, _ in seen) == sorted(owner for owner, _ in recorded)
    for owner, due in seen:
        assert abs(due - _due(recorded, owner)) < timedelta(seconds=5)
    return seen


async def test_a_command_to_a_child_waits_for_the_parents_timer(
    temporal: Client, family: tuple[str, str], watch: TimerWatch
) -> None:
    parent_id, child_id = family
    timers = await _timers_agree(temporal, watch, child_id)
    parent_due, child_due = _due(timers, parent_id), _due(timers, child_id)
    assert abs(child_due - parent_due - (CHILD_TIMER - PARENT_TIMER)) < timedelta(minutes=1)

    # A minute before the parent's timer: the child's own timer is an hour later still.
    now = parent_due - timedelta(minutes=1)
    commands = Commands(temporal, Watchdog(60), lambda: now, watch.family_timers)
    with pytest.raises(Deferred) as deferred:
        await commands.send(child_id, Child.finish, None)
    assert deferred.value.until == parent_due + AFTER_THE_TIMER
    assert commands.sent["finish"] == 0  # nothing went to the workflow
    assert commands.deferred_for_relative == {"finish": 1}  # counted apart in the report

    # Once the parent's timer has fired (here: well before it is due), the command goes.
    now = parent_due - timedelta(minutes=30)
    assert await commands.send(child_id, Child.finish, None) == "finished"


async def test_a_command_to_a_parent_waits_for_its_childs_timer(
    temporal: Client, family: tuple[str, str], watch: TimerWatch
) -> None:
    parent_id, child_id = family
    timers = await _timers_agree(temporal, watch, parent_id)
    child_due = _due(timers, child_id)

    assert {owner for owner, _ in timers} == {parent_id, child_id}

    # A minute before the child's timer. The parent's own, an hour earlier and so already
    # due at this `now`, would hold the command only until `now` + AFTER_THE_TIMER.
    now = child_due - timedelta(minutes=1)
    commands = Commands(temporal, Watchdog(60), lambda: now, watch.family_timers)
    with pytest.raises(Deferred) as deferred:
        await commands.send(parent_id, Parent.child_running, None)
    assert deferred.value.until == child_due + AFTER_THE_TIMER

    # A closed child has no timer that can fire: it no longer holds its parent's commands.
    await temporal.get_workflow_handle(child_id).execute_update(Child.finish)
    await temporal.get_workflow_handle(child_id).result()
    after = await _timers_agree(temporal, watch, parent_id)
    assert [owner for owner, _ in after] == [parent_id]


async def test_a_stall_names_the_workflow_whose_task_was_left_open(
    temporal: Client, family: tuple[str, str]
) -> None:
    """A run stuck while virtual time passed has no command to blame: the workflow named is
    the one whose workflow task never completed, here one no worker will ever pick up."""
    parent_id, _ = family
    orphan = f"orphan-{uuid.uuid4().hex[:8]}"
    await temporal.start_workflow(Child.run, id=orphan, task_queue=f"nobody-{orphan}")
    try:
        assert await wedged_among(temporal, [parent_id, orphan]) == [orphan]
        assert await wedged_among(temporal, [parent_id]) == []  # its child is searched, idle
    finally:
        await _end(temporal, orphan)
