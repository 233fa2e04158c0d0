"""The directory through the API: anyone signed in reads it, administrators change it.

Every change is audited with the names of the fields it changed (never their values: a
webhook secret must not reach the log).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.auth import policy
from api.directory.schemas import (
    PersonPatch,
    PersonPublic,
    PersonWrite,
    UnitPatch,
    UnitPublic,
    UnitWrite,
)
from api.errors import Problem
from domain.actors import Actor
from store import directory, directory_admin
from store.tables import Membership, Person, Unit

WEBHOOK_FIELDS = ("webhook_url", "webhook_secret", "webhook_rotated_at")


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


# --- units ------------------------------------------------------------------------------------


async def put_unit(
    session: AsyncSession, actor: Actor, unit_id: str, body: UnitWrite
) -> UnitPublic:
    """Create or replace a unit; its office hours and webhook are kept (PATCH sets those)."""
    policy.may_manage_directory(actor)
    values = body.model_dump()
    await _check_unit_references(session, values)
    existing = await directory.get_unit(session, unit_id)
    unit = existing or Unit(id=unit_id, hours={})
    changed = _apply(unit, values)
    saved = await directory_admin.save_unit(session, unit)
    await _audit(session, actor, "directory.unit.put", f"units/{unit_id}", changed)
    return UnitPublic.from_row(saved, administrator=True)


async def patch_unit(
    session: AsyncSession, actor: Actor, unit_id: str, body: UnitPatch
) -> UnitPublic:
    """Change only the fields given (JSON merge patch)."""
    policy.may_manage_directory(actor)
    unit = await directory.get_unit(session, unit_id)
    if unit is None:
        raise Problem(404, "Not found", f"no unit {unit_id}")
    given = body.model_dump(exclude_unset=True)
    await _check_unit_references(session, given)
    values = {k: v for k, v in given.items() if k not in WEBHOOK_FIELDS}
    changed = _apply(unit, {**values, **_webhook_values(unit, given)})
    saved = await directory_admin.save_unit(session, unit)
    await _audit(session, actor, "directory.unit.patch", f"units/{unit_id}", changed)
    return UnitPublic.from_row(saved, administrator=True)


def _webhook_values(unit: Unit, given: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook columns after a PATCH: a new secret is a rotation; no URL, no secret."""
    if "webhook_url" in given and given["webhook_url"] is None:
        return dict.fromkeys(WEBHOOK_FIELDS)
    values: dict[str, Any] = {}
    if "webhook_secret" in given:
        values.update(webhook_secret=given["webhook_secret"], webhook_rotated_at=datetime.now(UTC))
    if "webhook_url" in given:
        if not (values.get("webhook_secret") or unit.webhook_secret):
            raise _invalid("webhook_secret", "a webhook needs a secret to sign its deliveries")
        values["webhook_url"] = given["webhook_url"]
    return values


async def _check_unit_references(session: AsyncSession, values: Mapping[str, Any]) -> None:
    number = values.get("municipality_number")
    if number and await directory.get_municipality(session, number) is None:
        raise _invalid("municipality_number", f"no municipality {number}")
    leader = values.get("leader_id")
    if leader and await directory.get_person(session, leader) is None:
        raise _invalid("leader_id", f"no person {leader} in the directory")


# --- people -----------------------------------------------------------------------------------


async def put_person(
    session: AsyncSession, actor: Actor, person_id: str, body: PersonWrite
) -> PersonPublic:
    """Create or replace a person with their roles and unit memberships."""
    policy.may_manage_directory(actor)
    existing = await directory.get_person(session, person_id)
    row = existing or Person(id=person_id)
    return await _save_person(session, actor, row, body.model_dump(), "directory.person.put")


async def patch_person(
    session: AsyncSession, actor: Actor, person_id: str, body: PersonPatch
) -> PersonPublic:
    """Change only the fields given; units, when given, replace the memberships."""
    policy.may_manage_directory(actor)
    row = await directory.get_person(session, person_id)
    if row is None:
        raise Problem(404, "Not found", f"no person {person_id}")
    given = body.model_dump(exclude_unset=True)
    return await _save_person(session, actor, row, given, "directory.person.patch")


async def _save_person(
    session: AsyncSession, actor: Actor, row: Person, values: dict[str, Any], action: str
) -> PersonPublic:
    units = values.pop("units", None)
    if "roles" in values:
        values["roles"] = [str(role) for role in values["roles"]]
    changed = _apply(row, values)
    memberships = None
    if units is not None:
        memberships = await _memberships(session, row.id, units)
        changed += ["units"]
    saved = await directory_admin.save_person(session, row, memberships)
    await _audit(session, actor, action, f"people/{row.id}", changed)
    found = await directory_admin.memberships(session, [row.id])
    return PersonPublic.from_row(saved, found[row.id])


async def _memberships(
    session: AsyncSession, person_id: str, units: list[dict[str, Any]]
) -> list[Membership]:
    for index, membership in enumerate(units):
        if await directory.get_unit(session, membership["unit_id"]) is None:
            raise _invalid(f"units.{index}.unit_id", f"no unit {membership['unit_id']}")
    return [Membership(person_id=person_id, **membership) for membership in units]


# --- shared -----------------------------------------------------------------------------------


def _apply(row: Unit | Person, values: Mapping[str, Any]) -> list[str]:
    """Set the values on the row; the names of the fields whose value changed."""
    changed = [name for name, value in values.items() if getattr(row, name, None) != value]
    for name, value in values.items():
        setattr(row, name, value)
    return changed


async def _audit(
    session: AsyncSession, actor: Actor, action: str, resource: str, changed: list[str]
) -> None:
    await recorder.record(
        session,
        actor,
        action,
        resource=resource,
        purpose=policy.ADMINISTRATION,
        reason=f"changed: {', '.join(changed) or 'nothing'}",
    )
