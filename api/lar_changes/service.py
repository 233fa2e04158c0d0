"""Starting a LarPlanChangeWorkflow from a LAR consultant's proposal."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api.audit import recorder
from api.auth import policy
from api.discharges.service import (
    LAR_UNIT_KIND,
    RECEIVING_UNIT_KIND,
    today_in_norway,
    transition_id_for,
)
from api.errors import Problem
from api.lar_changes.schemas import LarChangeCreate
from api.transitions.schemas import TransitionState
from api.transitions.service import state_of
from api.workflow_start import start_and_wait
from domain.actors import Actor
from domain.calendar import OfficeHours, frozen_from
from domain.lar import LarChangeStart
from domain.transition import TransitionKind
from store import directory, patients
from workflows.lar_change import LarChangeInput, LarPlanChangeWorkflow, workflow_id_for

TSB_UNIT_KINDS = frozenset({"tsb", "dps"})


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422, "Invalid request", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


async def _unit(session: AsyncSession, field: str, unit_id: str) -> str:
    if await directory.get_unit(session, unit_id) is None:
        raise _invalid(field, f"no unit {unit_id} in the directory")
    return unit_id


async def _lar_contact(session: AsyncSession, body: LarChangeCreate) -> str:
    if body.lar_contact_unit_id:
        return await _unit(session, "lar_contact_unit_id", body.lar_contact_unit_id)
    for kind in (LAR_UNIT_KIND, RECEIVING_UNIT_KIND):
        unit = await directory.receiving_unit(session, body.municipality_number, kind)
        if unit is not None:
            return unit.id
    raise _invalid("municipality_number", f"{body.municipality_number} has no LAR contact unit")


async def _check(session: AsyncSession, actor: Actor, body: LarChangeCreate) -> str:
    if body.effective_date < today_in_norway():
        raise _invalid("effective_date", f"{body.effective_date} is in the past")
    origin = await directory.get_unit(session, body.origin_unit_id)
    if origin is None or origin.kind not in TSB_UNIT_KINDS:
        raise _invalid("origin_unit_id", f"{body.origin_unit_id} is not a TSB/DPS unit")
    policy.may_propose_lar_change(actor, origin.id)
    await _unit(session, "dispensing_unit_id", body.dispensing_unit_id)
    return await _lar_contact(session, body)


async def start_lar_change(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    actor: Actor,
    body: LarChangeCreate,
    idempotency_key: str | None,
) -> TransitionState:
    lar_contact = await _check(session, actor, body)
    transition_id = transition_id_for(actor, idempotency_key)
    patient_id = await patients.find_or_add(
        session, fodselsnummer=body.patient.fodselsnummer, name=body.patient.name
    )
    await patients.record_start(
        session,
        transition_id=transition_id,
        patient_id=patient_id,
        patient_name=body.patient.name,
        kind=TransitionKind.LAR_CHANGE.value,
        origin_unit_id=body.origin_unit_id,
        recorded_by=actor.person_id,
    )
    await session.commit()  # the patient and name must exist before the workflow refers to them
    start = LarChangeStart(
        transition_id=transition_id,
        patient_id=patient_id,
        municipality_number=body.municipality_number,
        origin_unit_id=body.origin_unit_id,
        lar_contact_unit_id=lar_contact,
        dispensing_unit_id=body.dispensing_unit_id,
        proposed_by=actor.person_id,
        proposal=body.proposal,
        effective_date=body.effective_date,
        what_matters=body.what_matters,
        answer_hours=frozen_from(OfficeHours(), today_in_norway()),
    )
    operation = WithStartWorkflowOperation(
        LarPlanChangeWorkflow.run,
        LarChangeInput(start=start),
        id=workflow_id_for(transition_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    view = await start_and_wait(
        temporal, LarPlanChangeWorkflow.started, operation, workflow_id_for(transition_id)
    )
    await recorder.record(session, actor, patient_id=patient_id, transition_id=transition_id)
    return state_of(view)
