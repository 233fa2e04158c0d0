from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from api.auth import policy
from api.deps import ActorDep, SessionDep, SettingsDep, TemporalDep
from api.idempotency import IdempotentRoute
from api.lar_changes import service
from api.lar_changes.schemas import AnswerBody, LarChangeCreate, OverrideBody, PatientViewBody
from api.tasks.schemas import TaskPublic
from api.transitions import service as transitions
from api.transitions.schemas import TransitionState
from domain.lar import AnswerConsultation, OverrideConsultation, RecordPatientView

router = APIRouter(prefix="/api/v1/lar-changes", tags=["lar-changes"], route_class=IdempotentRoute)
LAR_CHANGE = "lar_change"


@router.post("", status_code=201, response_model=TransitionState)
async def propose(
    body: LarChangeCreate,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TransitionState:
    """Propose a LAR change; the municipality's LAR contact is consulted before it takes effect."""
    return await service.start_lar_change(
        session, temporal, settings.temporal_task_queue, actor, body, idempotency_key
    )


@router.post("/{transition_id}/answer", response_model=TaskPublic)
async def answer(
    transition_id: str,
    body: AnswerBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TaskPublic:
    """The municipality's LAR contact agrees or objects, with a comment."""
    transition = await transitions.commanded_by_municipality(
        session, actor, transition_id, kind=LAR_CHANGE, what="an answer"
    )
    command = AnswerConsultation(actor=actor, agree=body.agree, comment=body.comment)
    return await transitions.send_for_task(temporal, transition, "answer", command)


@router.post("/{transition_id}/override", response_model=TransitionState)
async def override(
    transition_id: str,
    body: OverrideBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """The LAR physician lets the change take effect without the municipality's answer."""
    transition = await transitions.commanded_by_origin(
        session,
        actor,
        transition_id,
        kind=LAR_CHANGE,
        what="an override",
        rule=policy.may_override_lar_consultation,
    )
    command = OverrideConsultation(actor=actor, reason=body.reason)
    return await transitions.send(temporal, transition, "override", command)


@router.post("/{transition_id}/patient-view", response_model=TransitionState)
async def patient_view(
    transition_id: str,
    body: PatientViewBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """The patient's own view of the change, in their words."""
    transition = await transitions.commanded_by_origin(
        session,
        actor,
        transition_id,
        kind=LAR_CHANGE,
        what="a patient's view",
        rule=policy.may_propose_lar_change,
    )
    command = RecordPatientView(actor=actor, view=body.view)
    return await transitions.send(temporal, transition, "record_patient_view", command)
