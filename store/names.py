"""Directory names for ids, and the directory choices forms offer: no patient data."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import Membership, Municipality, Person, Unit


def _wanted(ids: Iterable[str | None]) -> list[str]:
    return sorted({i for i in ids if i})


async def unit_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = _wanted(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(wanted)))
    return {key: name for key, name in rows}


async def person_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = _wanted(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted)))
    return {key: name for key, name in rows}


async def municipality_names(
    session: AsyncSession, numbers: Iterable[str] | None = None
) -> dict[str, str]:
    """Every municipality's name by number, or only those of `numbers`."""
    query = select(Municipality.number, Municipality.name).order_by(Municipality.name)
    if numbers is not None:
        query = query.where(Municipality.number.in_(_wanted(numbers)))
    return {number: name for number, name in await session.execute(query)}


async def municipalities(session: AsyncSession) -> list[Municipality]:
    return list(await session.scalars(select(Municipality).order_by(Municipality.name)))


async def units_of_kinds(
    session: AsyncSession, ids: Iterable[str], kinds: Iterable[str]
) -> list[Unit]:
    """The units among `ids` of these kinds, by name."""
    rows = await session.scalars(
        select(Unit)
        .where(Unit.id.in_(_wanted(ids)), Unit.kind.in_(sorted(kinds)))
        .order_by(Unit.name)
    )
    return list(rows)


async def units_not_of_kinds(session: AsyncSession, kinds: Iterable[str]) -> list[Unit]:
    rows = await session.scalars(
        select(Unit).where(Unit.kind.not_in(sorted(kinds))).order_by(Unit.name)
    )
    return list(rows)


async def people_with_unit_names(
    session: AsyncSession, query: str, limit: int
) -> list[tuple[Person, list[str]]]:
    """People whose name or id contains `query` (all if empty), with their units' names."""
    statement = select(Person).order_by(Person.name, Person.id).limit(limit)
    if query:
        pattern = f"%{query}%"
        statement = statement.where(or_(Person.name.ilike(pattern), Person.id.ilike(pattern)))
    people = list(await session.scalars(statement))
    units = await unit_names_of_people(session, [p.id for p in people])
    return [(p, units.get(p.id, [])) for p in people]


async def unit_names_of_people(
    session: AsyncSession, person_ids: Iterable[str]
) -> dict[str, list[str]]:
    """The names of the units each person is a member of (contact or backup)."""
    rows = await session.execute(
        select(Membership.person_id, Unit.name)
        .join(Unit, Unit.id == Membership.unit_id)
        .where(Membership.person_id.in_(_wanted(person_ids)))
        .order_by(Unit.name)
    )
    found: dict[str, list[str]] = {}
    for person_id, name in rows:
        found.setdefault(person_id, []).append(name)
    return found
