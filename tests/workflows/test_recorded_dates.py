"""What happened cannot have happened tomorrow: a meeting held and a first contact made are
refused with a date after today in Norway, by the workflow's own validator (against its
clock, workflow.now(), in Europe/Oslo), before anything reaches the history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.calendar import OSLO
from domain.commands import AcceptTask, AcknowledgeTask
from domain.discharge import MarkDischarged, RecordFirstContact, RecordMeeting

from virtual_time import DischargeWorkflow, VirtualStack, clock_levels, oslo, transition_id

MONTH = 30 * 24 * 60


async def oslo_today(virtual: VirtualStack) -> date:
    return (await virtual.now()).astimezone(OSLO).date()


async def refusal(handle: WorkflowHandle[Any, Any], update: Any, command: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, command)
    assert isinstance(refused.value.cause, ApplicationError)
    return refused.value.cause.message


async def accepted(virtual: VirtualStack, handle: WorkflowHandle[Any, Any]) -> None:
    [intake] = (await handle.query(DischargeWorkflow.view)).tasks
    contact = virtual.people.contact
    await handle.execute_update(
        DischargeWorkflow.acknowledge, AcknowledgeTask(task_id=intake.id, actor=contact)
    )
    await handle.execute_update(
        DischargeWorkflow.accept, AcceptTask(task_id=intake.id, actor=contact)
    )


async def test_a_meeting_held_tomorrow_is_refused_naming_the_field(virtual: VirtualStack) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    today = await oslo_today(virtual)
    handle = await virtual.start_discharge(today + timedelta(days=10))
    await accepted(virtual, handle)
    coordinator = virtual.people.coordinator

    def meeting(held_on: date) -> RecordMeeting:
        return RecordMeeting(actor=coordinator, held_on=held_on, participants=("DPS", "kommunen"))

    reason = await refusal(handle, DischargeWorkflow.record_meeting, meeting(today + timedelta(1)))
    assert "held_on" in reason and "future" in reason
    tid = transition_id(handle)
    assert await virtual.events(tid, "meeting_recorded") == []

    # Just after midnight in Norway (still yesterday in UTC) the new day is today.
    tomorrow = today + timedelta(days=1)
    await virtual.advance_to(oslo(tomorrow, 0, 30))
    task = await handle.execute_update(DischargeWorkflow.record_meeting, meeting(tomorrow))
    assert task.business_status == "held"


async def test_a_first_contact_tomorrow_is_refused_naming_the_field(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    today = await oslo_today(virtual)
    handle = await virtual.start_discharge(today + timedelta(days=2))
    await accepted(virtual, handle)
    await handle.execute_update(
        DischargeWorkflow.mark_discharged, MarkDischarged(actor=virtual.people.coordinator)
    )
    contact = virtual.people.contact

    def first_contact(on: date) -> RecordFirstContact:
        return RecordFirstContact(actor=contact, contacted_on=on)

    later = today + timedelta(days=3)
    reason = await refusal(handle, DischargeWorkflow.record_first_contact, first_contact(later))
    assert "contacted_on" in reason and "future" in reason

    task = await handle.execute_update(DischargeWorkflow.record_first_contact, first_contact(today))
    assert task.business_status == "contacted"
