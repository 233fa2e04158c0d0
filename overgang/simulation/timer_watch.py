"""The pending timers of every workflow the simulation's worker runs, followed from the
worker's own activations rather than read from histories.

Before each command the driver needs the timers of the commanded workflow, its parent and
its children (overgang.simulation.commands: the test server wedges a workflow that cancels
a timer which fired during the same task). Reading three to five whole histories per command
kept the time-skipping test server busier than the worker in a full year. The worker sees
every timer anyway: an activation's `fire_timer` jobs say which fired, its completion's
`start_timer` and `cancel_timer` commands which started and stopped, at the activation's
workflow time. A timer that fired on the server but whose activation has not run yet still
counts as pending (due in the past), which is when a command must wait.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.workflow import _Definition

Timers = list[tuple[str, datetime]]  # (workflow id, due)
# Commands after which a run has no timer that can fire.
CLOSES_THE_RUN = frozenset(
    {
        "complete_workflow_execution",
        "fail_workflow_execution",
        "continue_as_new_workflow_execution",
        "cancel_workflow_execution",
    }
)


class TimerWatch(WorkflowRunner):
    """A runner that runs workflows with `inner` and notes their timers as they go."""

    def __init__(self, inner: WorkflowRunner) -> None:
        self.inner = inner
        # Activations run on the worker's threads; the driver reads on the event loop.
        self._lock = threading.Lock()
        self._timers: dict[str, dict[int, datetime]] = {}
        self._relatives: defaultdict[str, set[str]] = defaultdict(set)

    def prepare_workflow(self, defn: _Definition) -> None:
        self.inner.prepare_workflow(defn)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.inner.set_worker_level_failure_exception_types(types)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        """A new run, or a run replayed from its start: its timers are noted afresh."""
        workflow_id = det.info.workflow_id
        with self._lock:
            self._timers[workflow_id] = {}
            if det.info.parent is not None:
                self._relatives[workflow_id].add(det.info.parent.workflow_id)
                self._relatives[det.info.parent.workflow_id].add(workflow_id)
        return _Watched(self.inner.create_instance(det), workflow_id, self)

    async def family_timers(self, workflow_id: str) -> Timers:
        """Pending timers of the workflow, of its parent and of its children."""
        with self._lock:
            family = [workflow_id, *sorted(self._relatives.get(workflow_id, ()))]
            return [(wid, due) for wid in family for due in self._timers.get(wid, {}).values()]

    def follow(
        self,
        workflow_id: str,
        activation: WorkflowActivation,
        completion: WorkflowActivationCompletion,
    ) -> None:
        with self._lock:
            timers = self._timers.setdefault(workflow_id, {})
            for job in activation.jobs:
                if job.HasField("fire_timer"):
                    timers.pop(job.fire_timer.seq, None)
            if completion.HasField("successful"):
                now = activation.timestamp.ToDatetime(tzinfo=UTC)
                for command in completion.successful.commands:
                    self._apply(workflow_id, timers, command, now)

    def _apply(
        self, workflow_id: str, timers: dict[int, datetime], command: Any, now: datetime
    ) -> None:
        kind = command.WhichOneof("variant")
        if kind == "start_timer":
            timers[command.start_timer.seq] = (
                now + command.start_timer.start_to_fire_timeout.ToTimedelta()
            )
        elif kind == "cancel_timer":
            timers.pop(command.cancel_timer.seq, None)
        elif kind == "start_child_workflow_execution":
            child = command.start_child_workflow_execution.workflow_id
            self._relatives[workflow_id].add(child)
            self._relatives[child].add(workflow_id)
        elif kind in CLOSES_THE_RUN:
            timers.clear()


class _Watched(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, workflow_id: str, watch: TimerWatch) -> None:
        self.inner = inner
        self.workflow_id = workflow_id
        self.watch = watch

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        completion = self.inner.activate(act)
        self.watch.follow(self.workflow_id, act, completion)
        return completion

    def get_serialization_context(self, command_info: Any) -> Any:
        return self.inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self.inner.get_external_store_context(command_info)

    def get_info(self) -> Any:
        return self.inner.get_info()

    def get_thread_id(self) -> int | None:
        return self.inner.get_thread_id()
