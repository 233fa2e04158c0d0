"""Opening a transition with emergency access, and the leaders' follow-up of every grant.

The model decides (domain.access): only a health worker without a care relation may open
a transition; the grant reads as care for the transition and its child handovers for
settings.emergency_access_for, and every read under it is logged as emergency access with
the stated reason. Leaders follow up the grants used by people of the units they oversee
and on transitions those units started (domain.access.follows_up).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.auth import access as reading
from api.auth.access import Scope
from api.emergency.schemas import EmergencyAccessCreate, EmergencyGrantPublic, FollowUpBody
from api.errors import Problem
from api.transitions.detail import get_transition
from domain import access as model
from domain.access import Relation
from foundation.settings import Settings
from store import access as facts
from store import directory, emergency
from store.emergency import EmergencyGrantRow
from store.tables import Transition

EMERGENCY = Relation.EMERGENCY.value
FOLLOW_UP = "emergency follow-up"


async def open_in_emergency(
    session: AsyncSession,
    scope: Scope,
    settings: Settings,
    transition_id: str,
    body: EmergencyAccessCreate,
) -> EmergencyGrantPublic:
    row = await get_transition(session, transition_id)
    found = await reading.accesses(session, scope, [row])
    refused = model.may_open_in_emergency(scope.reader, found.by_id[row.id].facts, found.units)
    if refused is not None and not model.is_health_worker(scope.reader, found.units):
        raise reading.refuse(row, refused)
    if refused is not None:
        raise Problem(409, "Conflict", refused)
    now = datetime.now(UTC)
    grant = await emergency.add(
        session,
        person_id=scope.actor.person_id,
        transition_id=row.id,
        reason=body.reason,
        purpose=body.purpose,
        granted_at=now,
        expires_at=now + settings.emergency_access_for,
    )
    await _record(session, scope, row, body)
    return EmergencyGrantPublic.from_row(grant)


async def _record(
    session: AsyncSession, scope: Scope, row: Transition, body: EmergencyAccessCreate
) -> None:
    stated = f"{EMERGENCY}: {body.purpose}" if body.purpose else EMERGENCY
    await recorder.record(
        session,
        scope.actor,
        patient_id=row.patient_id,
        transition_id=row.id,
        purpose=stated[:120],
        reason=body.reason,
    )


async def for_follow_up(
    session: AsyncSession, scope: Scope, *, open_only: bool
) -> list[EmergencyGrantPublic]:
    """Grants the caller follows up as a leader, and their own."""
    rows = await emergency.for_follow_up(
        session, scope.led_unit_ids, scope.actor.person_id, open_only=open_only
    )
    for _, transition in rows:
        await recorder.record(
            session,
            scope.actor,
            "emergency_access.list",
            patient_id=transition.patient_id,
            transition_id=transition.id,
            purpose=FOLLOW_UP,
        )
    return [EmergencyGrantPublic.from_row(grant) for grant, _ in rows]


async def _grant(session: AsyncSession, grant_id: int) -> tuple[EmergencyGrantRow, Transition]:
    grant = await emergency.get(session, grant_id)
    if grant is None:
        raise Problem(404, "Not found", f"no emergency access {grant_id}")
    return grant, await get_transition(session, grant.transition_id)


async def follow_up(
    session: AsyncSession, scope: Scope, grant_id: int, body: FollowUpBody
) -> EmergencyGrantPublic:
    grant, transition = await _grant(session, grant_id)
    grantee_units = frozenset(await directory.unit_ids_of(session, grant.person_id))
    units = await facts.unit_facts(session, {*grantee_units, transition.origin_unit_id})
    if not model.follows_up(scope.reader, grantee_units, transition.origin_unit_id, units):
        raise reading.refuse(
            transition, "only a leader over the user's unit or the origin unit follows this up"
        )
    if grant.followed_up_at is not None:
        raise Problem(409, "Conflict", f"emergency access {grant_id} is already followed up")
    now = datetime.now(UTC)
    await emergency.mark_followed_up(session, grant.id, scope.actor.person_id, body.note, now)
    await recorder.record(
        session,
        scope.actor,
        patient_id=transition.patient_id,
        transition_id=transition.id,
        purpose=FOLLOW_UP,
    )
    await session.refresh(grant)
    return EmergencyGrantPublic.from_row(grant)


def offered_to(scope: Scope) -> bool:
    """Whether a refused page offers the caller emergency access: a health worker
    (domain.access.is_health_worker); the model decides again when they open it."""
    return model.is_health_worker(scope.reader, scope.units)


async def live_grant(
    session: AsyncSession, scope: Scope, transition_ids: list[str | None]
) -> EmergencyGrantPublic | None:
    """The caller's live grant on a transition or its parent (a child inherits it)."""
    wanted = [i for i in transition_ids if i]
    grant = await emergency.live_grant(session, scope.actor.person_id, wanted, datetime.now(UTC))
    return EmergencyGrantPublic.from_row(grant) if grant else None
