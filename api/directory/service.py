"""The directory through the API: anyone signed in reads it, administrators change it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.auth import policy
from api.directory.schemas import PersonPublic, PersonWrite, UnitPublic, UnitWrite
from api.errors import Problem
from domain.actors import Actor
from store import directory, directory_admin
from store.tables import Membership, Person, Unit


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422, "Invalid request", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


async def person(session: AsyncSession, person_id: str) -> PersonPublic:
    row = await directory.get_person(session, person_id)
    if row is None:
        raise Problem(404, "Not found", f"no person {person_id}")
    found = await directory_admin.memberships(session, [person_id])
    return PersonPublic.from_row(row, found[person_id])


async def put_unit(
    session: AsyncSession, actor: Actor, unit_id: str, body: UnitWrite
) -> UnitPublic:
    policy.may_manage_directory(actor)
    if body.municipality_number and not await directory.get_municipality(
        session, body.municipality_number
    ):
        raise _invalid("municipality_number", f"no municipality {body.municipality_number}")
    existing = await directory.get_unit(session, unit_id)
    unit = Unit(id=unit_id, **body.model_dump(), hours=existing.hours if existing else {})
    saved = await directory_admin.put_unit(session, unit)
    await recorder.record(
        session,
        actor,
        "directory.unit.put",
        resource=f"units/{unit_id}",
        purpose=policy.ADMINISTRATION,
    )
    return UnitPublic.from_row(saved)


async def put_person(
    session: AsyncSession, actor: Actor, person_id: str, body: PersonWrite
) -> PersonPublic:
    policy.may_manage_directory(actor)
    for index, membership in enumerate(body.units):
        if await directory.get_unit(session, membership.unit_id) is None:
            raise _invalid(f"units.{index}.unit_id", f"no unit {membership.unit_id}")
    row = Person(
        id=person_id,
        name=body.name,
        email=body.email,
        hpr_number=body.hpr_number,
        roles=[role.value for role in body.roles],
    )
    units = [
        Membership(person_id=person_id, unit_id=m.unit_id, is_backup=m.is_backup)
        for m in body.units
    ]
    saved = await directory_admin.put_person(session, row, units)
    await recorder.record(
        session,
        actor,
        "directory.person.put",
        resource=f"people/{person_id}",
        purpose=policy.ADMINISTRATION,
    )
    return PersonPublic.from_row(saved, units)
