"""Starting a DischargeWorkflow from a coordinator's request."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api.audit import recorder
from api.auth import policy
from api.discharges.schemas import DischargeCreate, StartWarning, TransitionStarted
from api.errors import Problem
from api.tasks.schemas import TaskPublic
from api.workflow_start import start_and_wait
from domain.actors import Actor
from domain.discharge import DischargeStart, DischargeTiming
from domain.identity import name_differs, second_episode_refusal
from domain.transition import TransitionKind
from foundation.settings import Settings
from store import directory, patients
from workflows.discharge import DischargeInput, DischargeWorkflow, workflow_id_for

OSLO = ZoneInfo("Europe/Oslo")
RECEIVING_UNIT_KIND = "psykisk_helse_rus"  # for psychiatric patients: the psykisk helsetjeneste
HOUSING_UNIT_KIND = "housing_office"
NAV_UNIT_KIND = "nav_office"
LAR_UNIT_KIND = "lar_contact"  # if none, the receiving unit holds the municipal LAR contact
IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0c3a52-8f1e-4f7e-9a43-1f4d2f1b7a10")
# A start whose workflow has not registered yet counts as under way for this long: longer
# than a start waits for its first answer (api.workflow_start), short enough that a start
# that failed outright blocks nobody for long.
STARTING_WINDOW = timedelta(minutes=2)
NAME_DIFFERS = StartWarning(
    code="patient_name_differs",
    field="patient.name",
    message="this fødselsnummer is already known under another name: check the number and "
    "the name; the name given here is used for this discharge only",
)


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422, "Invalid request", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


def today_in_norway() -> date:
    return datetime.now(OSLO).date()


def transition_id_for(actor: Actor, idempotency_key: str | None) -> str:
    """A retried request with the same key gets the same transition, so nothing starts twice."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{actor.person_id}:{idempotency_key}"))


async def _check_request(session: AsyncSession, actor: Actor, body: DischargeCreate) -> str:
    """Validate against the directory; returns the municipality's receiving unit id."""
    if body.expected_discharge_date < today_in_norway():
        raise _invalid("expected_discharge_date", f"{body.expected_discharge_date} is in the past")
    if await directory.get_municipality(session, body.municipality_number) is None:
        raise _invalid(
            "municipality_number", f"no municipality {body.municipality_number} in the directory"
        )
    origin = await directory.get_unit(session, body.origin_unit_id)
    if origin is None or origin.kind not in policy.DPS_UNIT_KINDS:
        raise _invalid(
            "origin_unit_id", f"{body.origin_unit_id} is not a DPS or TSB unit in the directory"
        )
    policy.may_start_transition(actor, origin.id)
    intake = await directory.receiving_unit(session, body.municipality_number, RECEIVING_UNIT_KIND)
    if intake is None:
        raise _invalid(
            "municipality_number", f"municipality {body.municipality_number} has no receiving unit"
        )
    return intake.id


def timing_from(settings: Settings) -> DischargeTiming:
    return DischargeTiming(
        follow_up_within=settings.follow_up_within,
        waiting_day=settings.waiting_day_length,
        housing_lead=settings.housing_lead_time,
    )


async def _unit_id(session: AsyncSession, municipality_number: str, kind: str) -> str | None:
    unit = await directory.receiving_unit(session, municipality_number, kind)
    return unit.id if unit else None


async def _other_units(
    session: AsyncSession, municipality_number: str, intake_unit_id: str
) -> dict[str, str | None]:
    """The offices that child handovers and the LAR step go to, from the directory."""
    lar = await _unit_id(session, municipality_number, LAR_UNIT_KIND)
    return {
        "housing_unit_id": await _unit_id(session, municipality_number, HOUSING_UNIT_KIND),
        "nav_unit_id": await _unit_id(session, municipality_number, NAV_UNIT_KIND),
        "lar_unit_id": lar or intake_unit_id,
    }


async def start_discharge(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    actor: Actor,
    body: DischargeCreate,
    idempotency_key: str | None,
    *,
    timing: DischargeTiming | None = None,
) -> TransitionStarted:
    intake_unit_id = await _check_request(session, actor, body)
    units = await _other_units(session, body.municipality_number, intake_unit_id)
    transition_id = transition_id_for(actor, idempotency_key)
    patient_id, warnings = await _identify(session, actor, body, transition_id)
    # The patient and the name given must be visible before the workflow's activities
    # refer to them (the read model copies the name when the workflow registers).
    await session.commit()
    start = DischargeStart(
        transition_id=transition_id,
        patient_id=patient_id,
        municipality_number=body.municipality_number,
        origin_unit_id=body.origin_unit_id,
        intake_unit_id=intake_unit_id,
        coordinator_id=actor.person_id,
        expected_discharge_date=body.expected_discharge_date,
        what_matters=body.what_matters,
        needs=body.needs,
        consents=body.consents,
        relatives=tuple(body.relatives),
        serving_sentence=body.serving_sentence,
        timing=timing or DischargeTiming(),
        **units,
    )
    workflow_id = workflow_id_for(transition_id)
    operation = WithStartWorkflowOperation(
        DischargeWorkflow.run,
        DischargeInput(start=start, started_by=actor.person_id),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    view = await start_and_wait(temporal, DischargeWorkflow.started, operation, workflow_id)
    await recorder.record(session, actor, patient_id=patient_id, transition_id=view.transition_id)
    return TransitionStarted(
        id=view.transition_id,
        workflow_id=workflow_id,
        status=view.status,
        tasks=[TaskPublic.from_task(task) for task in view.tasks],
        warnings=warnings,
    )


async def _identify(
    session: AsyncSession, actor: Actor, body: DischargeCreate, transition_id: str
) -> tuple[str, list[StartWarning]]:
    """The patient's id; refuses a second discharge under way from the unit, records the
    name given for this transition only, and warns if the number is known by another."""
    patient_id = await patients.find_or_add(
        session, fodselsnummer=body.patient.fodselsnummer, name=body.patient.name
    )
    await _refuse_second_episode(session, body, patient_id, transition_id)
    known = await patients.names_elsewhere(session, patient_id, transition_id)
    warnings = [NAME_DIFFERS] if name_differs(body.patient.name, known) else []
    await patients.record_start(
        session,
        transition_id=transition_id,
        patient_id=patient_id,
        patient_name=body.patient.name,
        kind=TransitionKind.DISCHARGE.value,
        origin_unit_id=body.origin_unit_id,
        recorded_by=actor.person_id,
        new_episode=body.new_episode,
    )
    return patient_id, warnings


async def _refuse_second_episode(
    session: AsyncSession, body: DischargeCreate, patient_id: str, transition_id: str
) -> None:
    """409 naming the discharge under way; a retry of the same start is not a second one."""
    await patients.lock_episodes(session, patient_id, body.origin_unit_id)
    active = await patients.active_discharges(
        session,
        patient_id=patient_id,
        origin_unit_id=body.origin_unit_id,
        besides=transition_id,
        starting_since=datetime.now(UTC) - STARTING_WINDOW,
    )
    existing = second_episode_refusal(active, new_episode=body.new_episode)
    if existing is not None:
        raise Problem(
            409,
            "Discharge under way",
            f"this patient already has a discharge from {body.origin_unit_id} under way "
            f"(transition {existing}); if this is a new episode, send new_episode: true",
            existing_transition_id=existing,
        )
