from __future__ import annotations

from fastapi import APIRouter

from api.deps import ScopeDep, SessionDep, SettingsDep
from api.emergency import service
from api.emergency.schemas import EmergencyAccessCreate, EmergencyGrantPublic, FollowUpBody
from api.idempotency import IdempotentRoute

router = APIRouter(tags=["emergency-access"], route_class=IdempotentRoute)


@router.post(
    "/api/v1/transitions/{transition_id}/emergency-access",
    status_code=201,
    response_model=EmergencyGrantPublic,
)
async def open_in_emergency(
    transition_id: str,
    body: EmergencyAccessCreate,
    scope: ScopeDep,
    session: SessionDep,
    settings: SettingsDep,
) -> EmergencyGrantPublic:
    """Blålys: a health worker outside the care relation opens the transition (and its child
    handovers) for a limited time, stating why. Logged as emergency access in the patient's
    access log and listed for the leaders to follow up."""
    return await service.open_in_emergency(session, scope, settings, transition_id, body)


@router.get("/api/v1/emergency-access", response_model=list[EmergencyGrantPublic])
async def list_for_follow_up(
    scope: ScopeDep, session: SessionDep, open: bool = False
) -> list[EmergencyGrantPublic]:
    """Emergency accesses to follow up: those used by people of the units you lead and on
    transitions your units started (and your own). `open=true`: not yet followed up."""
    return await service.for_follow_up(session, scope, open_only=open)


@router.post("/api/v1/emergency-access/{grant_id}/follow-up", response_model=EmergencyGrantPublic)
async def follow_up(
    grant_id: int, body: FollowUpBody, scope: ScopeDep, session: SessionDep
) -> EmergencyGrantPublic:
    """Mark an emergency access followed up, with the leader's note."""
    return await service.follow_up(session, scope, grant_id, body)
