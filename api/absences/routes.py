from __future__ import annotations

from fastapi import APIRouter

from api.absences import service
from api.absences.schemas import AbsenceCreate, AbsencePublic
from api.deps import ScopeDep, SessionDep
from api.idempotency import IdempotentRoute

router = APIRouter(prefix="/api/v1/absences", tags=["absences"], route_class=IdempotentRoute)


@router.get("", response_model=list[AbsencePublic])
async def list_absences(scope: ScopeDep, session: SessionDep) -> list[AbsencePublic]:
    """Absences not yet over: your own, those you cover, and (leaders) your units' people."""
    return await service.list_absences(session, scope)


@router.post("", status_code=201, response_model=AbsencePublic)
async def create_absence(
    body: AbsenceCreate, scope: ScopeDep, session: SessionDep
) -> AbsencePublic:
    """Mark someone absent with a substitute who gets their notifications and tasks meanwhile."""
    return await service.create_absence(session, scope, body)


@router.delete("/{absence_id}", response_model=AbsencePublic)
async def end_absence(absence_id: int, scope: ScopeDep, session: SessionDep) -> AbsencePublic:
    """End an absence now: notifications go to the person again."""
    return await service.end_absence(session, scope, absence_id)
