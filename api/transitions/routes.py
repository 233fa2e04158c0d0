from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, ScopeDep, SessionDep, TemporalDep
from api.idempotency import IdempotentRoute
from api.tasks.schemas import TaskPublic
from api.transitions import listing, service
from api.transitions.listing import TransitionPage
from api.transitions.schemas import (
    CancelBody,
    CoordinatorBody,
    DischargeDateBody,
    DischargedBody,
    FirstContactBody,
    MeetingBody,
    TransitionDetail,
    TransitionState,
)
from domain.discharge import (
    ChangeDischargeDate,
    MarkDischarged,
    MarkReady,
    NameCoordinator,
    RecordFirstContact,
    RecordMeeting,
)
from domain.transition import CancelTransition, TransitionStatus
from store.transition_search import TransitionFilter

router = APIRouter(prefix="/api/v1/transitions", tags=["transitions"], route_class=IdempotentRoute)
DISCHARGE = "discharge"


@router.get("", response_model=TransitionPage)
async def list_transitions(
    scope: ScopeDep,
    session: SessionDep,
    status: TransitionStatus | None = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    municipality: Annotated[str | None, Query(max_length=4)] = None,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    escalated: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TransitionPage:
    """Transitions the caller may see (involved units; leaders: what they lead), newest first.
    Pass `next_cursor` back as `cursor` for the next page."""
    f = TransitionFilter(
        status=status,
        kind=kind,
        municipality=municipality,
        unit=unit,
        overdue=overdue,
        escalated=escalated,
    )
    return await listing.list_transitions(session, scope, f, cursor=cursor, limit=limit)


@router.get("/{transition_id}", response_model=TransitionDetail)
async def get_transition(
    transition_id: str, scope: ScopeDep, session: SessionDep
) -> TransitionDetail:
    """One transition: its steps (and its child handovers' steps) and its timeline."""
    return await service.transition_detail(session, scope, transition_id)


@router.post("/{transition_id}/cancel", response_model=TransitionState)
async def cancel(
    transition_id: str,
    body: CancelBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """Avmelding: cancel the whole transition with a reason; open steps and children end."""
    transition = await service.commanded_by_origin(session, actor, transition_id)
    command = CancelTransition(actor=actor, reason=body.reason)
    return await service.send(temporal, transition, command)


@router.post("/{transition_id}/meeting", response_model=TaskPublic)
async def record_meeting(
    transition_id: str,
    body: MeetingBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TaskPublic:
    """Samarbeidsmøte / ansvarsgruppe held: its date and participants."""
    transition = await service.commanded_by_origin(
        session, actor, transition_id, kind=DISCHARGE, what="a cooperation meeting"
    )
    command = RecordMeeting(
        actor=actor, held_on=body.held_on, participants=tuple(body.participants), note=body.note
    )
    return await service.send_for_task(temporal, transition, command)


@router.post("/{transition_id}/coordinator", response_model=TaskPublic)
async def name_coordinator(
    transition_id: str,
    body: CoordinatorBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TaskPublic:
    """The municipality names the patient's koordinator (and whether an IP is started)."""
    transition = await service.commanded_by_municipality(
        session, actor, transition_id, kind=DISCHARGE, what="a coordinator"
    )
    command = NameCoordinator(
        actor=actor, coordinator_name=body.coordinator_name, individual_plan=body.individual_plan
    )
    return await service.send_for_task(temporal, transition, command)


@router.post("/{transition_id}/ready-for-discharge", response_model=TransitionState)
async def ready_for_discharge(
    transition_id: str, actor: ActorDep, session: SessionDep, temporal: TemporalDep
) -> TransitionState:
    """Utskrivningsklar: from now on each day the municipality is not ready is an overliggedøgn."""
    transition = await service.commanded_by_origin(
        session, actor, transition_id, kind=DISCHARGE, what="ready for discharge"
    )
    return await service.send(temporal, transition, MarkReady(actor=actor))


@router.post("/{transition_id}/discharged", response_model=TransitionState)
async def discharged(
    transition_id: str,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
    body: DischargedBody | None = None,
) -> TransitionState:
    """The patient has left: the municipality's follow-up step starts."""
    transition = await service.commanded_by_origin(
        session, actor, transition_id, kind=DISCHARGE, what="discharged"
    )
    command = MarkDischarged(actor=actor, planned=body.planned if body else True)
    return await service.send(temporal, transition, command)


@router.post("/{transition_id}/first-contact", response_model=TaskPublic)
async def first_contact(
    transition_id: str,
    body: FirstContactBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TaskPublic:
    """The municipality's first contact with the patient after discharge."""
    transition = await service.commanded_by_municipality(
        session, actor, transition_id, kind=DISCHARGE, what="a first contact"
    )
    command = RecordFirstContact(actor=actor, contacted_on=body.contacted_on, note=body.note)
    return await service.send_for_task(temporal, transition, command)


@router.patch("/{transition_id}", response_model=TransitionState)
@router.post("/{transition_id}/expected-discharge-date", response_model=TransitionState)
async def change_discharge_date(
    transition_id: str,
    body: DischargeDateBody,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> TransitionState:
    """Move the expected discharge date; everyone with an open step is told."""
    transition = await service.commanded_by_origin(
        session, actor, transition_id, kind=DISCHARGE, what="a discharge date"
    )
    command = ChangeDischargeDate(
        actor=actor, expected_discharge_date=body.expected_discharge_date, reason=body.reason
    )
    return await service.send(temporal, transition, command)
