"""Leaders' oversight reports, the audit log, and a patient's access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import service
from api.audit.schemas import AccessLogEntry, AuditLogEntry, EventPage, StalledTransition
from api.auth import policy
from api.deps import ScopeDep, SessionDep
from api.pagination import decode_cursor
from store import audit

router = APIRouter(tags=["audit"])
Filter = Annotated[str | None, Query(max_length=64)]


@router.get("/api/v1/audit/stalled", response_model=list[StalledTransition])
async def stalled(
    scope: ScopeDep,
    session: SessionDep,
    municipality: Filter = None,
    unit: Filter = None,
    idle_business_days: Annotated[int, Query(ge=1, le=60)] = 3,
) -> list[StalledTransition]:
    """Active transitions that are overdue, escalated, bounced, waiting after utskrivningsklar,
    or without progress for `idle_business_days` business days, among those the caller has
    a relation to (domain.access: a leader's oversight, a unit's care or consent)."""
    return await service.stalled(
        session, scope, municipality=municipality, unit=unit, idle_business_days=idle_business_days
    )


@router.get("/api/v1/audit/events", response_model=EventPage)
async def events(
    scope: ScopeDep,
    session: SessionDep,
    kind: Filter = None,
    municipality: Filter = None,
    unit: Filter = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    """Timeline events (escalations, rejections, acknowledgements...) across the transitions
    the caller has a relation to; free text only where they read the clinical part."""
    return await service.event_feed(
        session,
        scope,
        kind=kind,
        municipality=municipality,
        unit=unit,
        cursor=cursor,
        limit=limit,
    )


@router.get("/api/v1/audit/log", response_model=list[AuditLogEntry])
async def audit_log(
    scope: ScopeDep,
    session: SessionDep,
    actor: Filter = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|refused)$")] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditLogEntry]:
    """The audit log itself, newest first (administrators). `cursor` continues before a row."""
    policy.may_read_audit_log(scope.actor)
    before = decode_cursor(cursor, int)[0] if cursor else None
    rows = await audit.recent(
        session, before_id=before, actor_id=actor, outcome=outcome, limit=limit
    )
    return [AuditLogEntry.from_row(row) for row in rows]


@router.get("/api/v1/patients/{patient_id}/access-log", response_model=list[AccessLogEntry])
async def access_log(patient_id: str, scope: ScopeDep, session: SessionDep) -> list[AccessLogEntry]:
    """Who read, acted on or was refused this patient's data, when and why (newest first):
    for those who care for the patient or oversee their transitions, emergency readers, and
    administrators."""
    return await service.access_log(session, scope, patient_id)


@router.get("/api/v1/transitions/{transition_id}/access-log", response_model=list[AccessLogEntry])
async def transition_access_log(
    transition_id: str, scope: ScopeDep, session: SessionDep
) -> list[AccessLogEntry]:
    """The access log of this transition's patient, under the same rule as
    `/api/v1/patients/{patient_id}/access-log`."""
    return await service.transition_access_log(session, scope, transition_id)
