"""Reading and editing escalation policies; an edit writes a new version row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import policy as access
from api.errors import Problem
from api.policies.schemas import (
    PolicyCreate,
    PolicyDetail,
    PolicySummary,
    PolicyUpdate,
    PolicyVersion,
)
from domain.actors import Actor
from domain.escalation import EscalationLevel
from store import directory
from store import policies as queries
from store.tables import EscalationPolicyRow


def invalid(field: str, message: str) -> Problem:
    """A 422 in the same shape as request validation errors, naming the field."""
    return Problem(
        422, "Invalid request", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


async def list_policies(
    session: AsyncSession, municipality_number: str | None
) -> list[PolicySummary]:
    rows = await queries.latest_versions(session, municipality_number)
    return [
        PolicySummary(**PolicyVersion.from_row(row).model_dump(), versions=numbers)
        for row, numbers in rows
    ]


async def get_policy(session: AsyncSession, policy_id: str) -> PolicyDetail:
    rows = await queries.versions(session, policy_id)
    if not rows:
        raise Problem(404, "Not found", f"no escalation policy {policy_id}")
    history = [PolicyVersion.from_row(row) for row in rows]
    return PolicyDetail(**history[-1].model_dump(), history=history)


async def create_policy(session: AsyncSession, actor: Actor, body: PolicyCreate) -> PolicyDetail:
    access.may_manage_directory(actor)
    _check_levels(body.levels)
    await _check_scope(session, body)
    policy_id = body.id or f"policy-{uuid.uuid4().hex[:12]}"
    if await queries.versions(session, policy_id):
        raise Problem(409, "Conflict", f"escalation policy {policy_id} exists; PUT a new version")
    row = _row(policy_id, 1, body.name, body.levels, actor)
    row.municipality_number, row.unit_id = body.municipality_number, body.unit_id
    row.task_kind = body.task_kind.value if body.task_kind else None
    await _store(session, row)
    return await get_policy(session, policy_id)


async def new_version(
    session: AsyncSession, actor: Actor, policy_id: str, body: PolicyUpdate
) -> PolicyDetail:
    access.may_manage_directory(actor)
    _check_levels(body.levels)
    rows = await queries.versions(session, policy_id)
    if not rows:
        raise Problem(404, "Not found", f"no escalation policy {policy_id}")
    latest = rows[-1]
    row = _row(policy_id, latest.version + 1, body.name, body.levels, actor)
    row.municipality_number, row.unit_id = latest.municipality_number, latest.unit_id
    row.task_kind = latest.task_kind
    await _store(session, row)
    return await get_policy(session, policy_id)


async def _check_scope(session: AsyncSession, body: PolicyCreate) -> None:
    if await directory.get_municipality(session, body.municipality_number) is None:
        raise invalid("municipality_number", f"no municipality {body.municipality_number}")
    if body.unit_id is None:
        return
    unit = await directory.get_unit(session, body.unit_id)
    if unit is None or unit.municipality_number != body.municipality_number:
        raise invalid("unit_id", f"no unit {body.unit_id} in {body.municipality_number}")


def _check_levels(levels: list[EscalationLevel]) -> None:
    for number, level in enumerate(levels):
        if level.business_time and level.reach_on_call_now:
            raise invalid(
                f"levels.{number}.reach_on_call_now",
                "a business-time wait never ends outside office hours; "
                "set business_time to false for an on-call level",
            )


def _row(
    policy_id: str, version: int, name: str, levels: list[EscalationLevel], actor: Actor
) -> EscalationPolicyRow:
    return EscalationPolicyRow(
        id=policy_id,
        version=version,
        name=name,
        levels=[level.model_dump(mode="json") for level in levels],
        created_at=datetime.now(UTC),
        created_by=actor.person_id,
    )


async def _store(session: AsyncSession, row: EscalationPolicyRow) -> None:
    try:
        async with session.begin_nested():
            await queries.add_version(session, row)
    except IntegrityError as error:  # two edits raced for the same version number
        raise Problem(
            409, "Conflict", f"version {row.version} of {row.id} was just written; try again"
        ) from error
