"""Names for ids and the directory choices the pages offer (no patient data, so no access
decision): the pages show units, people and municipalities by name through these."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.access import Scope
from api.auth.policy import DPS_UNIT_KINDS
from domain.actors import Actor
from store import names
from store.tables import Municipality, Person, Unit

SIGN_IN_LISTED = 200


async def unit_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    return await names.unit_names(session, ids)


async def person_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    return await names.person_names(session, ids)


async def municipality_label(session: AsyncSession, number: str) -> str:
    """'Halden (3101)', or the number alone for an unknown municipality."""
    name = (await names.municipality_names(session, [number])).get(number)
    return f"{name} ({number})" if name else number


async def municipality_names(session: AsyncSession) -> dict[str, str]:
    return await names.municipality_names(session)


async def municipalities(session: AsyncSession) -> list[Municipality]:
    return await names.municipalities(session)


async def origin_units(session: AsyncSession, actor: Actor) -> list[Unit]:
    """The DPS/TSB units the coordinator may start transitions from."""
    return await names.units_of_kinds(session, actor.unit_ids, DPS_UNIT_KINDS)


async def municipal_units(session: AsyncSession) -> list[Unit]:
    """Units outside the specialist service (dispensing sites among them)."""
    return await names.units_not_of_kinds(session, DPS_UNIT_KINDS)


Choices = dict[str, list[tuple[str, str]]]


async def oversight_choices(session: AsyncSession, scope: Scope) -> Choices:
    """The municipalities and units a leader's report can be narrowed to: those they lead
    and the units they act for or oversee."""
    towns = await names.municipality_names(session, scope.readable_municipalities)
    units = await names.unit_names(session, scope.readable_unit_ids)
    return {
        "municipalities": [(n, f"{name} ({n})") for n, name in towns.items()],
        "units": sorted(units.items(), key=lambda item: item[1]),
    }


async def sign_in_list(session: AsyncSession, query: str) -> list[tuple[Person, list[str]]]:
    """The development sign-in's people (name or id matching), with their units' names."""
    return await names.people_with_unit_names(session, query, SIGN_IN_LISTED)


async def unit_names_of_people(
    session: AsyncSession, person_ids: Iterable[str]
) -> dict[str, list[str]]:
    return await names.unit_names_of_people(session, person_ids)
