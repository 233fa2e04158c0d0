"""What a workflow looks like from outside: when the watchdog gave up, its timers still pending
(and when they were due) and its last events; when a command went unanswered, whether the
workflow is open, busy with a task, or already took the command."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client

ENDS_A_TIMER = {EventType.EVENT_TYPE_TIMER_FIRED, EventType.EVENT_TYPE_TIMER_CANCELED}
LAST_EVENTS = 4
TASK_OPEN = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
}
TASK = TASK_OPEN | {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}
CLOSES_A_RUN = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}
READ_TIMEOUT = 15.0  # seconds: the server that wedged may not answer either


async def describe_stuck(client: Client, workflow_id: str, now: datetime | None) -> str:
    """One line on the workflow's pending timers and last events, or why it could not be read."""
    try:
        events = await asyncio.wait_for(_history(client, workflow_id), READ_TIMEOUT)
    except Exception as error:  # a diagnosis must never hide the stall it explains
        return f"its history could not be read ({type(error).__name__}: {error})"
    timers = ", ".join(
        f"{timer_id} due {due.isoformat()}" + (" (past)" if now and due <= now else "")
        for timer_id, due in pending_timers(events)
    )
    last = ", ".join(
        EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events[-LAST_EVENTS:]
    )
    return (
        f"{workflow_id} has {len(events)} events, last {last}; pending timers: {timers or 'none'}"
    )


async def wedged_among(client: Client, workflow_ids: list[str], limit: int = 3) -> list[str]:
    """After a stall with no command in flight: the workflows (and their children) whose last
    workflow task is still open, which on a stalled server is the wedge. At most `limit`."""
    wedged: list[str] = []
    seen: set[str] = set()
    queue = list(workflow_ids)
    while queue and len(wedged) < limit:
        workflow_id = queue.pop(0)
        if workflow_id in seen:
            continue
        seen.add(workflow_id)
        try:
            events = await asyncio.wait_for(_history(client, workflow_id), READ_TIMEOUT)
        except Exception:  # unreadable: not the one to name
            continue
        queue += relatives(events)
        tasks = [e.event_type for e in events if e.event_type in TASK]
        if tasks and tasks[-1] in TASK_OPEN and events[-1].event_type not in CLOSES_A_RUN:
            wedged.append(workflow_id)
    return wedged


@dataclass(frozen=True)
class WorkflowState:
    running: bool
    task_running: bool  # a workflow task is scheduled or started


async def workflow_state(client: Client, workflow_id: str) -> WorkflowState:
    """Open or closed from describe, read raw (the SDK's describe() decodes search attributes
    this test server mangles); a task running from the history (the test server's describe
    never fills in the pending workflow task)."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    answer = await client.workflow_service.describe_workflow_execution(request)
    running = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    if answer.workflow_execution_info.status != running:
        return WorkflowState(running=False, task_running=False)
    tasks = [e.event_type for e in await _history(client, workflow_id) if e.event_type in TASK]
    return WorkflowState(running=True, task_running=bool(tasks) and tasks[-1] in TASK_OPEN)


async def updates_accepted(client: Client, workflow_id: str, update_ids: list[str]) -> bool:
    """Whether the workflow's history shows any of these updates accepted."""
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    wanted = set(update_ids)
    return any(
        e.workflow_execution_update_accepted_event_attributes.protocol_instance_id in wanted
        for e in await _history(client, workflow_id)
        if e.event_type == accepted
    )


async def pending_timers_of(client: Client, workflow_id: str) -> list[tuple[str, datetime]]:
    return pending_timers(await _history(client, workflow_id))


async def family_timers_of(client: Client, workflow_id: str) -> list[tuple[str, datetime]]:
    """The pending timers of a workflow, of its parent and of its children, as
    (workflow id, due): a command to one of them can make another cancel a timer (a handover
    that ends tells its discharge, which may stop counting waiting days; a discharge date
    that moves moves its handovers' deadlines). Closed workflows have none."""
    events = await _history(client, workflow_id)
    found = [(workflow_id, due) for _, due in _open_timers(events)]
    for relative in relatives(events):
        found += [(relative, due) for _, due in _open_timers(await _history(client, relative))]
    return found


def relatives(events: list[HistoryEvent]) -> list[str]:
    """The parent this run names in its start and the children it started (a run that
    continued as new names only the children it started itself)."""
    ids: list[str] = []
    if events and events[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        parent = events[0].workflow_execution_started_event_attributes.parent_workflow_execution
        if parent.workflow_id:
            ids.append(parent.workflow_id)
    started = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
    for e in events:
        if e.event_type == started:
            child = e.child_workflow_execution_started_event_attributes.workflow_execution
            if child.workflow_id not in ids:
                ids.append(child.workflow_id)
    return ids


def _open_timers(events: list[HistoryEvent]) -> list[tuple[str, datetime]]:
    """Pending timers, none once the run has closed (its unfired timers never fire)."""
    if events and events[-1].event_type in CLOSES_A_RUN:
        return []
    return pending_timers(events)


async def _history(client: Client, workflow_id: str) -> list[HistoryEvent]:
    handle = client.get_workflow_handle(workflow_id)
    return [event async for event in handle.fetch_history_events()]


def pending_timers(events: list[HistoryEvent]) -> list[tuple[str, datetime]]:
    """Timers started and neither fired nor cancelled, with the instant each is due."""
    started = {e.event_id: e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED}
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            started.pop(e.timer_fired_event_attributes.started_event_id, None)
        elif e.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            started.pop(e.timer_canceled_event_attributes.started_event_id, None)
    return [
        (
            e.timer_started_event_attributes.timer_id,
            e.event_time.ToDatetime(tzinfo=UTC)
            + e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta(),
        )
        for e in started.values()
    ]
