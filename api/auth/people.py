"""Who a signed-in subject is: the directory person, and the Actor the API and the pages
act as (the same for a bearer token and a page session)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.actors import Actor, Role
from store import directory, directory_admin
from store.tables import Person


async def person(session: AsyncSession, person_id: str) -> Person | None:
    return await directory.get_person(session, person_id)


async def person_signing_in(
    session: AsyncSession, subject: str, hpr_number: str | None
) -> Person | None:
    """The directory person a token or an OpenID Connect sign-in names: by id, else by HPR."""
    found = await directory.get_person(session, subject)
    if found is None and hpr_number:
        found = await directory_admin.person_by_hpr(session, hpr_number)
    return found


async def actor_of(session: AsyncSession, found: Person) -> Actor:
    """The person acting now, with the units they act for (substitutes' units included)."""
    units = await directory.acting_unit_ids(session, found.id)
    known = set(Role.__members__.values())
    return Actor(
        person_id=found.id,
        roles=frozenset(Role(r) for r in found.roles if r in known),
        unit_ids=frozenset(units),
    )
