"""The overdue watcher in virtual time: a step is flagged overdue once, when its deadline
passes, following the deadline when the discharge date moves it (earlier or later), and the
`Overdue` search attribute says so while the step is open and overdue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from domain.commands import AcceptTask, AcknowledgeTask
from domain.discharge import ChangeDischargeDate, Consents, Needs
from domain.handover import MoveDeadline
from workflows.handover import HandoverInput
from workflows.search_attributes import OVERDUE

from virtual_time import (
    DischargeWorkflow,
    HandoverWorkflow,
    VirtualStack,
    clock_levels,
    oslo,
    transition_id,
)

MONTH = 30 * 24 * 60  # minutes: no step's own escalation deadline passes during these tests


async def oslo_today(virtual: VirtualStack) -> date:
    from domain.calendar import OSLO

    return (await virtual.now()).astimezone(OSLO).date()


async def accepted_intake(virtual: VirtualStack, handle: WorkflowHandle[Any, Any]) -> None:
    """The municipality takes the patient: the cooperation meeting step opens."""
    [intake] = (await handle.query(DischargeWorkflow.view)).tasks
    contact = virtual.people.contact
    await handle.execute_update(
        DischargeWorkflow.acknowledge, AcknowledgeTask(task_id=intake.id, actor=contact)
    )
    await handle.execute_update(
        DischargeWorkflow.accept, AcceptTask(task_id=intake.id, actor=contact)
    )


async def meeting_id(handle: WorkflowHandle[Any, Any]) -> str:
    tasks = (await handle.query(DischargeWorkflow.view)).tasks
    return next(t.id for t in tasks if t.kind.value == "cooperation_meeting")


async def overdue_flags(virtual: VirtualStack, tid: str, task_id: str) -> list[Any]:
    return [e for e in await virtual.events(tid, "task_overdue") if e.task_id == task_id]


async def search_attribute_overdue(virtual: VirtualStack, handle: WorkflowHandle[Any, Any]) -> Any:
    return await virtual.search_attribute(handle, OVERDUE.name)


async def move_date(virtual: VirtualStack, handle: WorkflowHandle[Any, Any], to: date) -> None:
    command = ChangeDischargeDate(actor=virtual.people.coordinator, expected_discharge_date=to)
    await handle.execute_update(DischargeWorkflow.change_discharge_date, command)


async def test_a_deadline_moved_later_goes_overdue_at_the_new_deadline(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    expected = await oslo_today(virtual) + timedelta(days=3)
    handle = await virtual.start_discharge(expected)
    tid = transition_id(handle)
    await accepted_intake(virtual, handle)
    meeting = await meeting_id(handle)
    later = expected + timedelta(days=4)
    await move_date(virtual, handle, later)

    # Past the old deadline: not overdue (never before the deadline).
    await virtual.advance_to(oslo(expected, 1))
    await virtual.settled(handle)
    assert await overdue_flags(virtual, tid, meeting) == []
    assert await search_attribute_overdue(virtual, handle) is False

    # Past the new one: flagged once, at the deadline, and findable as overdue.
    await virtual.advance_to(oslo(later, 1))
    [flag] = await virtual.event(tid, "task_overdue")
    assert flag.task_id == meeting
    assert oslo(later) <= flag.at < oslo(later) + timedelta(seconds=1)
    assert await search_attribute_overdue(virtual, handle) is True
    await virtual.advance(timedelta(days=2))
    await virtual.settled(handle)
    assert len(await overdue_flags(virtual, tid, meeting)) == 1


async def test_a_deadline_moved_earlier_goes_overdue_at_the_new_deadline(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    expected = await oslo_today(virtual) + timedelta(days=6)
    handle = await virtual.start_discharge(expected)
    tid = transition_id(handle)
    await accepted_intake(virtual, handle)
    meeting = await meeting_id(handle)
    earlier = expected - timedelta(days=3)
    await move_date(virtual, handle, earlier)

    await virtual.advance_to(oslo(earlier, 1))
    [flag] = await virtual.event(tid, "task_overdue")
    assert flag.task_id == meeting
    assert oslo(earlier) <= flag.at < oslo(earlier) + timedelta(seconds=1)
    assert await search_attribute_overdue(virtual, handle) is True

    # The old, later deadline passing flags nothing more.
    await virtual.advance_to(oslo(expected, 1))
    await virtual.settled(handle)
    assert len(await overdue_flags(virtual, tid, meeting)) == 1


async def test_a_handover_deadline_moved_by_the_parent_goes_overdue_at_the_new_one(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    expected = await oslo_today(virtual) + timedelta(days=3)
    handle = await virtual.start_discharge(
        expected, needs=Needs(nav=True), consents=Consents(share_with_nav=True)
    )
    [started] = await virtual.event(transition_id(handle), "handover_started")
    child_tid = started.detail["handover_transition_id"]
    child = virtual.client.get_workflow_handle(f"handover-{child_tid}")
    later = expected + timedelta(days=5)
    await move_date(virtual, handle, later)

    await virtual.advance_to(oslo(expected, 1))
    await virtual.settled(child)
    assert await virtual.events(child_tid, "task_overdue") == []

    await virtual.advance_to(oslo(later, 1))
    [flag] = await virtual.event(child_tid, "task_overdue")
    assert oslo(later) <= flag.at < oslo(later) + timedelta(seconds=1)
    assert await search_attribute_overdue(virtual, child) is True


async def test_a_deadline_moved_while_the_handover_step_opens_is_the_steps_deadline(
    virtual: VirtualStack,
) -> None:
    """The parent's move arrives with the handover's start (signal-with-start), before its
    step is open: the step opens with the moved deadline and goes overdue at it, not before."""
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    now = await virtual.now()
    first, moved = now + timedelta(days=2), now + timedelta(days=6)
    start = await virtual.handover_start(virtual.directory.nav, due_at=first)
    child = await virtual.client.start_workflow(
        HandoverWorkflow.run,
        HandoverInput(start=start),
        id=f"handover-{start.transition_id}",
        task_queue=virtual.queue,
        start_signal="move_deadline",
        start_signal_args=[MoveDeadline(due_at=moved)],
    )

    await virtual.advance_to(first + timedelta(hours=1))
    await virtual.settled(child)
    assert await virtual.events(start.transition_id, "task_overdue") == []
    await virtual.advance_to(moved + timedelta(hours=1))
    [flag] = await virtual.event(start.transition_id, "task_overdue")
    assert moved <= flag.at < moved + timedelta(seconds=1)
