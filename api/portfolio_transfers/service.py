"""Starting one HandoverWorkflow per patient, with ids derived from the Idempotency-Key, so
a retried call starts nothing twice; progress comes from the read model."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.audit import recorder
from api.auth import access as reading
from api.auth import policy
from api.auth.access import Scope
from api.auth.policy import Forbidden
from api.discharges.service import RECEIVING_UNIT_KIND
from api.errors import Problem
from api.portfolio_transfers.schemas import (
    HandoverProgress,
    PortfolioTransferCreate,
    PortfolioTransferProgress,
    PortfolioTransferStarted,
)
from domain.actors import Actor
from domain.discharge import start_of_day
from domain.handover import HandoverStart
from domain.tasks import TaskKind
from domain.transition import TransitionKind
from store import directory, patients, transition_family
from store.tables import TaskRow
from workflows.handover import HandoverInput, HandoverWorkflow, workflow_id_for

BATCH_NAMESPACE = uuid.UUID("0b4f7c1e-3f57-4d0e-8f8e-5d9f3f6a2c11")


def batch_id_for(origin_unit_id: str, idempotency_key: str) -> str:
    return str(uuid.uuid5(BATCH_NAMESPACE, f"{origin_unit_id}:{idempotency_key}"))


def handover_id_for(batch_id: str, patient_id: str) -> str:
    """Deterministic per (batch, patient): the same call retried finds the same workflow."""
    return str(uuid.uuid5(BATCH_NAMESPACE, f"{batch_id}:{patient_id}"))


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422, "Invalid request", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


async def _receiving_unit(
    session: AsyncSession, actor: Actor, body: PortfolioTransferCreate
) -> str:
    origin = await directory.get_unit(session, body.origin_unit_id)
    if origin is None or origin.kind not in policy.DPS_UNIT_KINDS:
        raise _invalid("origin_unit_id", f"{body.origin_unit_id} is not a DPS or TSB unit")
    policy.may_transfer_portfolio(actor, origin.id)
    if body.to_unit_id:
        if await directory.get_unit(session, body.to_unit_id) is None:
            raise _invalid("to_unit_id", f"no unit {body.to_unit_id} in the directory")
        return body.to_unit_id
    unit = await directory.receiving_unit(session, body.municipality_number, RECEIVING_UNIT_KIND)
    if unit is None:
        raise _invalid("municipality_number", f"{body.municipality_number} has no receiving unit")
    return unit.id


async def _start_one(temporal: Client, task_queue: str, start: HandoverStart) -> bool:
    """True if this call started the handover; False if an earlier call already had."""
    try:
        await temporal.start_workflow(
            HandoverWorkflow.run,
            HandoverInput(start=start),
            id=workflow_id_for(start.transition_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_transfer(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    actor: Actor,
    body: PortfolioTransferCreate,
    idempotency_key: str,
) -> PortfolioTransferStarted:
    to_unit = await _receiving_unit(session, actor, body)
    batch_id = batch_id_for(body.origin_unit_id, idempotency_key)
    patient_ids = [
        await patients.find_or_add(
            session, fodselsnummer=item.patient.fodselsnummer, name=item.patient.name
        )
        for item in body.patients
    ]
    starts = [
        _handover(body, actor, batch_id, to_unit, patient_id, item.what_matters)
        for patient_id, item in zip(patient_ids, body.patients, strict=True)
    ]
    for start, item in zip(starts, body.patients, strict=True):
        await patients.record_start(
            session,
            transition_id=start.transition_id,
            patient_id=start.patient_id,
            patient_name=item.patient.name,
            kind=TransitionKind.HANDOVER.value,
            origin_unit_id=start.origin_unit_id,
            recorded_by=actor.person_id,
        )
    await session.commit()  # patients and names must exist before the workflows refer to them
    started = [await _start_one(temporal, task_queue, start) for start in starts]
    reads = [(s.patient_id, s.transition_id) for s in starts]
    await recorder.record_reads(session, actor, "", reads)  # one audit row per patient
    return PortfolioTransferStarted(
        id=batch_id,
        total=len(starts),
        started=sum(started),
        already_running=len(started) - sum(started),
        transition_ids=[s.transition_id for s in starts],
    )


def _handover(
    body: PortfolioTransferCreate,
    actor: Actor,
    batch_id: str,
    to_unit: str,
    patient_id: str,
    what_matters: str,
) -> HandoverStart:
    return HandoverStart(
        transition_id=handover_id_for(batch_id, patient_id),
        kind=TaskKind.HANDOVER,
        patient_id=patient_id,
        municipality_number=body.municipality_number,
        origin_unit_id=body.origin_unit_id,
        owner_unit_id=to_unit,
        started_by=actor.person_id,
        what_matters=what_matters,
        purpose=body.reason,
        due_at=start_of_day(body.due_date) if body.due_date else None,
        batch_id=batch_id,
        batch_size=len(body.patients),
    )


async def progress(session: AsyncSession, scope: Scope, batch_id: str) -> PortfolioTransferProgress:
    """The transfer's handovers the caller has a relation to (domain.access), each with the
    newest step they may see; refused when they may read none of them."""
    members = await transition_family.batch_members(session, batch_id)
    if not members:
        raise Problem(
            404, "Not found", f"no portfolio transfer {batch_id} (or none registered yet)"
        )
    found = (await reading.accesses(session, scope, members)).readable()
    if not found:
        raise Forbidden(reading.NO_RELATION, patients=[(m.patient_id, m.id) for m in members])
    tasks = await transition_family.tasks_of_many(session, [a.transition.id for a in found])
    by_id = {a.transition.id: a for a in found}
    own = reading.own_units(scope)
    seen = [t for t in tasks if reading.shows_step(by_id[t.transition_id], t.owner_unit_id, own)]
    latest = _latest_task_per_transition(seen)
    await recorder.record_accesses(session, scope.actor, "portfolio_transfer.read", found)
    shown = [a.transition for a in found]
    return PortfolioTransferProgress(
        id=batch_id,
        total=int(members[0].details.get("batch_size") or len(members)),
        registered=len(shown),
        by_status=dict(Counter(m.status for m in shown)),
        by_task_status=dict(Counter(t.status for t in latest.values())),
        handovers=[_item(m.id, m.status, latest.get(m.id)) for m in shown],
    )


def _latest_task_per_transition(tasks: list[TaskRow]) -> dict[str, TaskRow]:
    latest: dict[str, TaskRow] = {}
    for task in tasks:  # ordered by created_at: the newest (a forwarded step) wins
        latest[task.transition_id] = task
    return latest


def _item(transition_id: str, status: str, task: TaskRow | None) -> HandoverProgress:
    return HandoverProgress(
        transition_id=transition_id,
        status=status,
        task_status=task.status if task else None,
        owner_unit_id=task.owner_unit_id if task else None,
    )
