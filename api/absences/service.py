"""Marking people absent with a substitute, and ending absences.

Anyone may register their own absence; leaders may for the people of the units they lead,
administrators for anyone. The substitute must already act for one of the absent person's
units (domain.delegation.substitute_refusal), so standing in never widens who reads what.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.absences.schemas import AbsenceCreate, AbsencePublic
from api.auth.access import Scope
from api.auth.policy import require
from api.errors import Problem
from api.policies.service import invalid
from domain.actors import Actor
from domain.delegation import eligible_substitutes, substitute_refusal
from store import absences as queries
from store import directory
from store.tables import Person


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
    await _require_eligible(session, person_id, body.substitute_id)
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


async def _require_eligible(session: AsyncSession, person_id: str, substitute_id: str) -> None:
    units = await queries.memberships_of(session, {person_id, substitute_id})
    refusal = substitute_refusal(
        units.get(person_id, frozenset()), units.get(substitute_id, frozenset())
    )
    if refusal is not None:
        raise invalid(
            "substitute_id", f"{substitute_id} cannot stand in for {person_id}: {refusal}"
        )


async def _may_manage(session: AsyncSession, scope: Scope, person_id: str) -> None:
    if person_id == scope.actor.person_id or scope.is_administrator:
        return
    led_people = await queries.members_of(session, set(scope.led_unit_ids))
    require(
        scope.is_leader and person_id in led_people,
        f"only {person_id} themselves, their leader or an administrator manage their absences",
    )


async def colleagues(session: AsyncSession, actor: Actor) -> list[Person]:
    """The people who may stand in for the actor: colleagues of their own units, never of
    the units they themselves stand in for now (domain.delegation.eligible_substitutes)."""
    own = (await queries.memberships_of(session, {actor.person_id})).get(actor.person_id)
    if not own:
        return []
    people = await directory.people_of_units(session, own)
    members = await queries.memberships_of(session, {p.id for p in people})
    allowed = set(eligible_substitutes(actor.person_id, own, members))
    return [person for person in people if person.id in allowed]
