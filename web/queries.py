"""The choices two forms offer that still query the directory here (the forward targets of a
rejected step, the colleagues who may stand in): the other pages read through api services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.policy import DPS_UNIT_KINDS
from domain.actors import Actor
from store.tables import Membership, Person, Unit


async def forward_units(
    session: AsyncSession, municipality_number: str, owner_unit_id: str
) -> list[Unit]:
    """The municipality's other units a task can be forwarded to (not the specialist units)."""
    rows = await session.scalars(
        select(Unit)
        .where(
            Unit.municipality_number == municipality_number,
            Unit.id != owner_unit_id,
            Unit.kind.not_in(list(DPS_UNIT_KINDS)),
        )
        .order_by(Unit.name)
    )
    return list(rows)


async def colleagues(session: AsyncSession, actor: Actor) -> list[Person]:
    """People of the actor's units who can stand in for them."""
    rows = await session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.unit_id.in_(list(actor.unit_ids)), Person.id != actor.person_id)
        .distinct()
        .order_by(Person.name)
    )
    return list(rows)
