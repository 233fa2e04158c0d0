"""Errors in a workflow's background work (timers, watchers, handover starters) fail the
workflow task where an operator sees it (the history and the Web UI), and Temporal retries it,
instead of vanishing while the transition silently stops moving."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import EventType

from domain.discharge import Consents, DischargeStart, DischargeTiming, Needs
from workflows.discharge import DischargeInput, DischargeWorkflow

from polling import eventually
from virtual_time import VirtualStack, clock_levels


async def test_a_failing_handover_starter_fails_the_workflow_task_visibly(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(60 * 24 * 30))
    d = virtual.directory
    # A housing lead no calendar can subtract: the starter's date arithmetic overflows.
    start = DischargeStart(
        transition_id=str(uuid.uuid4()),
        patient_id=await virtual.patient(),
        municipality_number=d.number,
        origin_unit_id=d.dps,
        intake_unit_id=d.intake,
        coordinator_id=d.identity.coordinator,
        expected_discharge_date=(await virtual.now()).date() + timedelta(days=30),
        what_matters="Å bo hjemme",
        needs=Needs(housing=True),
        consents=Consents(share_with_housing_office=True),
        housing_unit_id=d.housing,
        timing=DischargeTiming(housing_lead=timedelta(days=10**6)),
    )
    handle = await virtual.client.start_workflow(
        DischargeWorkflow.run,
        DischargeInput(start=start, started_by=d.identity.coordinator),
        id=f"discharge-{start.transition_id}",
        task_queue=virtual.queue,
    )

    async def task_failure() -> str | None:
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failure = event.workflow_task_failed_event_attributes.failure
                return str(await virtual.client.data_converter.decode_failure(failure))
        return None

    message = await eventually(task_failure, timeout=30, what="a failed workflow task")
    assert "handover" in message and "date value out of range" in message
