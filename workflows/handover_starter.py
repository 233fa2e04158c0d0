"""The handover starter: a discharge's housing and NAV handovers as child workflows, each
started when due (housing `housing_lead` before the movable discharge date, NAV at once), and
told when the date moves or the discharge is cancelled.

A start is work that continue-as-new waits for, and it is idempotent: a child an earlier run
started but never heard back from counts as running, so no link is left waiting for ever.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.discharge import (
        DischargeState,
        HandoverLink,
        HandoverStatus,
        handover_due,
        handover_starts_at,
        handovers_wanted,
    )
    from domain.handover import HandoverStart
    from domain.tasks import TaskKind
    from domain.timeline import EventKind
    from domain.transition import TransitionStatus
    from workflows.handover import HandoverInput, HandoverWorkflow
    from workflows.handover import workflow_id_for as handover_workflow_id
    from workflows.task_board import TaskBoard
    from workflows.timers import wait_until


NO_CONSENT = "needed, but the patient has not consented to share with this office"


class HandoverStarter:
    def __init__(self, state: DischargeState, board: TaskBoard, started_by: str) -> None:
        self.state = state
        self.board = board
        self.started_by = started_by

    async def plan(self) -> None:
        """Link every handover the patient needs and has consented to; record the others."""
        send, withheld = handovers_wanted(self.state.start)
        for kind in withheld:
            self._not_sent(kind, NO_CONSENT)
        for kind in send:
            unit = self._unit(kind)
            if unit is None:
                self._not_sent(kind, "the municipality has no such office in the directory")
                continue
            transition_id = str(workflow.uuid4())
            self.state.handovers[kind.value] = HandoverLink(
                kind=kind,
                workflow_id=handover_workflow_id(transition_id),
                transition_id=transition_id,
                owner_unit_id=unit,
            )
            self._start_when_due(kind)
        await self.board.sync()

    def resume(self) -> None:
        """After continue-as-new: wait again for the handovers not yet started."""
        for link in self.state.handovers.values():
            if link.status is HandoverStatus.WAITING:
                self._start_when_due(TaskKind(link.kind))

    def cancel_waiting(self) -> None:
        for link in self.state.handovers.values():
            if link.status is HandoverStatus.WAITING:
                link.status = HandoverStatus.CANCELLED

    async def signal_running(self, signal: Callable[..., Any], message: BaseModel) -> None:
        """Tell every running child (typed: e.g. HandoverWorkflow.move_deadline)."""
        for link in self.state.handovers.values():
            if link.status is HandoverStatus.RUNNING:
                child = workflow.get_external_workflow_handle_for(
                    HandoverWorkflow.run, link.workflow_id
                )
                await child.signal(signal, message)

    def _not_sent(self, kind: TaskKind, reason: str) -> None:
        self.state.core.record(
            workflow.now(), EventKind.HANDOVER_NOT_SENT, handover_kind=kind.value, reason=reason
        )

    def _unit(self, kind: TaskKind) -> str | None:
        start = self.state.start
        return start.housing_unit_id if kind is TaskKind.HOUSING else start.nav_unit_id

    def _start_when_due(self, kind: TaskKind) -> None:
        self.board.supervisor.watch(f"{kind.value} handover starter", self._when_due(kind))

    async def _when_due(self, kind: TaskKind) -> None:
        """Housing starts housing_lead before the (movable) discharge date; NAV at once."""
        while True:
            version = self.state.date_version
            at = handover_starts_at(kind, self.state.expected_date, self.state.start.timing)
            if at > workflow.now():
                await self._scheduled(kind, at)
            await wait_until(at, self._date_moved_or_stopped(version))
            if self._stopped():
                self.state.handovers[kind.value].status = HandoverStatus.CANCELLED
                return
            if self.state.date_version == version or at <= workflow.now():
                async with self.board.supervisor.busy():
                    await self._start(self.state.handovers[kind.value])
                return

    async def _scheduled(self, kind: TaskKind, at: Any) -> None:
        self.state.core.record(
            workflow.now(),
            EventKind.HANDOVER_SCHEDULED,
            handover_kind=kind.value,
            starts_at=at.isoformat(),
        )
        async with self.board.supervisor.busy():
            await self.board.sync()

    def _date_moved_or_stopped(self, version: int) -> Callable[[], bool]:
        return lambda: self.state.date_version != version or self._stopped()

    def _stopped(self) -> bool:
        core = self.state.core
        return core.status is not TransitionStatus.ACTIVE or core.discharged_at is not None

    async def _start(self, link: HandoverLink) -> None:
        # Already started: by an earlier run that continued as new before it heard back.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            # ABANDON: the child outlives a continue-as-new of this run and reports by signal.
            await workflow.start_child_workflow(
                HandoverWorkflow.run,
                HandoverInput(start=self._child_start(link)),
                id=link.workflow_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        link.status = HandoverStatus.RUNNING
        self.state.core.record(
            workflow.now(),
            EventKind.HANDOVER_STARTED,
            handover_kind=link.kind.value,
            handover_transition_id=link.transition_id,
            owner_unit_id=link.owner_unit_id,
        )
        await self.board.sync()

    def _child_start(self, link: HandoverLink) -> HandoverStart:
        start = self.state.start
        return HandoverStart(
            transition_id=link.transition_id,
            kind=link.kind,
            patient_id=start.patient_id,
            municipality_number=start.municipality_number,
            origin_unit_id=start.origin_unit_id,
            owner_unit_id=link.owner_unit_id,
            started_by=self.started_by,
            what_matters=start.what_matters,
            purpose=f"{link.kind.value} in place before discharge",
            due_at=handover_due(self.state.expected_date),
            parent_transition_id=start.transition_id,
            parent_workflow_id=workflow.info().workflow_id,
            consents=start.consents.model_dump(),
        )
