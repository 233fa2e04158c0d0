"""Directory routes: units and people (absences and escalation policies have their own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ActorDep, SessionDep
from api.directory import service
from api.directory.schemas import (
    PersonPatch,
    PersonPublic,
    PersonWrite,
    UnitPatch,
    UnitPublic,
    UnitWrite,
)
from api.errors import Problem
from api.idempotency import IdempotentRoute
from domain.actors import Actor, Role
from store import directory, directory_admin

router = APIRouter(prefix="/api/v1", tags=["directory"], route_class=IdempotentRoute)
Filter = Annotated[str | None, Query(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=1000)]
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.get("/units", response_model=list[UnitPublic])
async def list_units(
    actor: ActorDep,
    session: SessionDep,
    municipality: Filter = None,
    kind: Filter = None,
    limit: Limit = 500,
) -> list[UnitPublic]:
    rows = await directory_admin.units(session, municipality=municipality, kind=kind, limit=limit)
    return [UnitPublic.from_row(row, administrator=_administers(actor)) for row in rows]


@router.get("/units/{unit_id}", response_model=UnitPublic)
async def get_unit(unit_id: str, actor: ActorDep, session: SessionDep) -> UnitPublic:
    row = await directory.get_unit(session, unit_id)
    if row is None:
        raise Problem(404, "Not found", f"no unit {unit_id}")
    return UnitPublic.from_row(row, administrator=_administers(actor))


def _administers(actor: Actor) -> bool:
    return actor.has_role(Role.ADMINISTRATOR)


@router.put("/units/{unit_id}", response_model=UnitPublic)
async def put_unit(
    unit_id: IdPath, body: UnitWrite, actor: ActorDep, session: SessionDep
) -> UnitPublic:
    """Create or replace a unit (administrators). Every field must be present (null clears
    an optional one); the webhook and office hours are kept: set the webhook with PATCH."""
    return await service.put_unit(session, actor, unit_id, body)


@router.patch("/units/{unit_id}", response_model=UnitPublic)
async def patch_unit(
    unit_id: IdPath, body: UnitPatch, actor: ActorDep, session: SessionDep
) -> UnitPublic:
    """Change only the fields given (administrators), e.g. set or rotate the webhook: the
    secret is write-only; the unit shows webhook_configured and webhook_rotated_at."""
    return await service.patch_unit(session, actor, unit_id, body)


@router.get("/people", response_model=list[PersonPublic])
async def list_people(
    actor: ActorDep, session: SessionDep, unit: Filter = None, limit: Limit = 500
) -> list[PersonPublic]:
    rows = await directory_admin.people(session, unit=unit, limit=limit)
    found = await directory_admin.memberships(session, [row.id for row in rows])
    return [PersonPublic.from_row(row, found[row.id]) for row in rows]


@router.get("/people/{person_id}", response_model=PersonPublic)
async def get_person(person_id: str, actor: ActorDep, session: SessionDep) -> PersonPublic:
    return await service.person(session, person_id)


@router.put("/people/{person_id}", response_model=PersonPublic)
async def put_person(
    person_id: IdPath, body: PersonWrite, actor: ActorDep, session: SessionDep
) -> PersonPublic:
    """Create or replace a person with their roles and unit memberships (administrators).
    Every field must be present (null clears an optional one)."""
    return await service.put_person(session, actor, person_id, body)


@router.patch("/people/{person_id}", response_model=PersonPublic)
async def patch_person(
    person_id: IdPath, body: PersonPatch, actor: ActorDep, session: SessionDep
) -> PersonPublic:
    """Change only the fields given (administrators); units, when given, replace them all."""
    return await service.patch_person(session, actor, person_id, body)
