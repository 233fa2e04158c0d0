"""HandoverWorkflow in virtual time: a step bounced twice between units escalates to the
leaders of every unit involved (skyveproblematikk), a continue-as-new in between carries
the bounces over, and the handover ends with the unit that finally takes it."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from domain.commands import AcceptTask, CompleteTask, RejectTask
from domain.discharge import HandoverStatus
from workflows.handover import HandoverInput

from polling import eventually
from virtual_time import HandoverWorkflow, VirtualStack, clock_levels

MONTH = 30 * 24 * 60


async def open_handover(virtual: VirtualStack) -> tuple[WorkflowHandle[Any, Any], str]:
    start = await virtual.handover_start(virtual.directory.intake)
    handle = await virtual.client.start_workflow(
        HandoverWorkflow.run,
        HandoverInput(start=start),
        id=f"handover-{start.transition_id}",
        task_queue=virtual.queue,
    )
    return handle, start.transition_id


async def open_task_of(handle: WorkflowHandle[Any, Any], owner: str) -> str:
    async def found() -> str | None:
        tasks = (await handle.query(HandoverWorkflow.view)).tasks
        return next((t.id for t in tasks if t.is_open and t.owner_unit_id == owner), None)

    return await eventually(found, timeout=30, what=f"an open step at {owner}")


async def test_a_double_bounce_escalates_to_every_unit_and_survives_continue_as_new(
    virtual: VirtualStack,
) -> None:
    await virtual.use_policy(clock_levels(MONTH, MONTH, MONTH))
    d, people = virtual.directory, virtual.people
    handle, tid = await open_handover(virtual)
    for owner, to in ((d.intake, d.nav), (d.nav, d.other_unit)):
        task_id = await open_task_of(handle, owner)
        actor = people.member_of(owner)
        reject = RejectTask(task_id=task_id, actor=actor, reason="Ikke oss", forward_to_unit_id=to)
        await handle.execute_update(HandoverWorkflow.reject, reject)

    [bounced] = await virtual.event(tid, "bounce_escalated")
    assert bounced.detail["units"] == f"{d.intake},{d.nav},{d.other_unit}"
    assert bounced.detail["level"] == "2"

    first_run = (await virtual.description(handle)).workflow_execution_info.execution.run_id
    await handle.signal(HandoverWorkflow.continue_as_new_now)

    async def new_run() -> bool:
        info = (await virtual.description(handle)).workflow_execution_info
        return info.execution.run_id != first_run

    await eventually(new_run, timeout=30, what="the next run")
    last = await open_task_of(handle, d.other_unit)
    view = await handle.query(HandoverWorkflow.view)
    [task] = [t for t in view.tasks if t.id == last]
    assert task.bounces == [d.intake, d.nav] and task.escalation.level == 2

    site = people.member_of(d.other_unit)
    await handle.execute_update(HandoverWorkflow.accept, AcceptTask(task_id=last, actor=site))
    await handle.execute_update(HandoverWorkflow.complete, CompleteTask(task_id=last, actor=site))
    result = await handle.result()
    assert result.status is HandoverStatus.COMPLETED and result.owner_unit_id == d.other_unit
    assert len(await virtual.events(tid, "bounce_escalated")) == 1
