"""Marking people absent with a substitute, and ending absences.

Anyone may register their own absence; leaders may for the people of the units they lead,
administrators for anyone.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.absences.schemas import AbsenceCreate, AbsencePublic
from api.auth.access import Scope
from api.auth.policy import require
from api.errors import Problem
from api.policies.service import invalid
from store import absences as queries
from store import directory


async def list_absences(session: AsyncSession, scope: Scope) -> list[AbsencePublic]:
    """Current and future absences of the caller, those they cover, and their units' people."""
    people = {scope.actor.person_id}
    if scope.is_leader or scope.is_administrator:
        people |= await queries.members_of(session, set(scope.readable_unit_ids))
    rows = await queries.involving(session, people, current_after=datetime.now(UTC))
    return [AbsencePublic.from_row(row) for row in rows]


async def create_absence(session: AsyncSession, scope: Scope, body: AbsenceCreate) -> AbsencePublic:
    person_id = body.person_id or scope.actor.person_id
    await _require_person(session, "person_id", person_id)
    await _require_person(session, "substitute_id", body.substitute_id)
    if body.substitute_id == person_id:
        raise invalid("substitute_id", "a person cannot stand in for themselves")
    await _may_manage(session, scope, person_id)
    row = await queries.add(
        session,
        person_id=person_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        substitute_id=body.substitute_id,
        reason=body.reason,
        created_by=scope.actor.person_id,
        created_at=datetime.now(UTC),
    )
    return AbsencePublic.from_row(row)


async def end_absence(session: AsyncSession, scope: Scope, absence_id: int) -> AbsencePublic:
    """End it now; an absence that has not begun is cut to nothing."""
    row = await queries.get(session, absence_id)
    if row is None:
        raise Problem(404, "Not found", f"no absence {absence_id}")
    await _may_manage(session, scope, row.person_id)
    now = datetime.now(UTC)
    row.ends_at = max(row.starts_at, min(row.ends_at, now))
    await session.flush()
    return AbsencePublic.from_row(row)


async def _require_person(session: AsyncSession, field: str, person_id: str) -> None:
    if await directory.get_person(session, person_id) is None:
        raise invalid(field, f"no person {person_id} in the directory")


async def _may_manage(session: AsyncSession, scope: Scope, person_id: str) -> None:
    if person_id == scope.actor.person_id or scope.is_administrator:
        return
    led_people = await queries.members_of(session, set(scope.led_unit_ids))
    require(
        scope.is_leader and person_id in led_people,
        f"only {person_id} themselves, their leader or an administrator manage their absences",
    )
