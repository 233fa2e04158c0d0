from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel

from api.auth import policy
from api.deps import ActorDep, SessionDep, SettingsDep, TemporalDep
from api.idempotency import IdempotentRoute
from api.lar_changes import service
from api.lar_changes.schemas import (
    AnswerBody,
    LarChangeCreate,
    OverrideBody,
    PatientViewBody,
    ReviseBody,
    WithdrawBody,
)
from api.tasks.schemas import TaskPublic
from api.transitions import service as transitions
from api.transitions.schemas import TransitionState
from domain.actors import Actor
from domain.lar import (
    AnswerConsultation,
    OverrideConsultation,
    RecordPatientView,
    ReviseProposal,
    WithdrawProposal,
)

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
    return await transitions.send_for_task(temporal, transition, command)


async def _from_lar_side(
    session: SessionDep,
    temporal: TemporalDep,
    actor: Actor,
    transition_id: str,
    command: BaseModel,
    what: str,
    rule: transitions.OriginRule = policy.may_propose_lar_change,
) -> TransitionState:
    """A command of the LAR side (the origin) to its LAR change: checked, then sent."""
    transition = await transitions.commanded_by_origin(
        session, actor, transition_id, kind=LAR_CHANGE, what=what, rule=rule
    )
    return await transitions.send(temporal, transition, command)


@router.post("/{transition_id}/override", response_model=TransitionState)
async def override(
    transition_id: str,
    body: OverrideBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """The LAR physician lets the change take effect without the municipality's agreement:
    no answer yet, or an objection (with a reason, audited)."""
    command = OverrideConsultation(actor=actor, reason=body.reason)
    return await _from_lar_side(
        session,
        temporal,
        actor,
        transition_id,
        command,
        "an override",
        rule=policy.may_override_lar_consultation,
    )


@router.post("/{transition_id}/withdraw", response_model=TransitionState)
async def withdraw(
    transition_id: str,
    body: WithdrawBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """The LAR side withdraws the proposal (e.g. after an objection): it never takes effect."""
    command = WithdrawProposal(actor=actor, reason=body.reason)
    return await _from_lar_side(session, temporal, actor, transition_id, command, "a withdrawal")


@router.post("/{transition_id}/revise", response_model=TransitionState)
async def revise(
    transition_id: str,
    body: ReviseBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """A revised proposal and date: the municipality's LAR contact is consulted again."""
    service.require_not_past(body.effective_date)
    command = ReviseProposal(
        actor=actor, proposal=body.proposal, effective_date=body.effective_date
    )
    return await _from_lar_side(session, temporal, actor, transition_id, command, "a revision")


@router.post("/{transition_id}/patient-view", response_model=TransitionState)
async def patient_view(
    transition_id: str,
    body: PatientViewBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """The patient's own view of the change, in their words."""
    command = RecordPatientView(actor=actor, view=body.view)
    return await _from_lar_side(
        session, temporal, actor, transition_id, command, "a patient's view"
    )
