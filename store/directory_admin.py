"""Listing and changing the directory (units, people, memberships): the administrators' side."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import Membership, Person, Unit


async def units(
    session: AsyncSession, *, municipality: str | None, kind: str | None, limit: int
) -> list[Unit]:
    query = select(Unit).order_by(Unit.id).limit(limit)
    if municipality:
        query = query.where(Unit.municipality_number == municipality)
    if kind:
        query = query.where(Unit.kind == kind)
    return list(await session.scalars(query))


async def people(session: AsyncSession, *, unit: str | None, limit: int) -> list[Person]:
    query = select(Person).order_by(Person.id).limit(limit)
    if unit:
        query = query.join(Membership, Membership.person_id == Person.id).where(
            Membership.unit_id == unit
        )
    return list(await session.scalars(query))


async def memberships(session: AsyncSession, person_ids: list[str]) -> dict[str, list[Membership]]:
    rows = await session.scalars(
        select(Membership).where(Membership.person_id.in_(person_ids)).order_by(Membership.unit_id)
    )
    found: dict[str, list[Membership]] = {pid: [] for pid in person_ids}
    for row in rows:
        found[row.person_id].append(row)
    return found


async def save_unit(session: AsyncSession, unit: Unit) -> Unit:
    """Write a new or changed unit."""
    session.add(unit)
    await session.flush()
    return unit


async def save_person(
    session: AsyncSession, person: Person, units: list[Membership] | None
) -> Person:
    """Write a new or changed person; `units`, when given, replace their memberships."""
    session.add(person)
    await session.flush()
    if units is not None:
        await session.execute(delete(Membership).where(Membership.person_id == person.id))
        session.add_all(units)
        await session.flush()
    return person


async def person_by_hpr(session: AsyncSession, hpr_number: str) -> Person | None:
    """The person with this HPR number (how a HelseID token finds its directory person)."""
    return await session.scalar(select(Person).where(Person.hpr_number == hpr_number).limit(1))
