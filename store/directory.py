"""Queries on the directory: units, people, memberships and escalation policies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import OfficeHours
from domain.escalation import EscalationLevel, EscalationPolicy
from store import absences
from store.tables import EscalationPolicyRow, Membership, Municipality, Person, Unit


async def get_unit(session: AsyncSession, unit_id: str) -> Unit | None:
    return await session.get(Unit, unit_id)


async def get_municipality(session: AsyncSession, number: str) -> Municipality | None:
    return await session.get(Municipality, number)


async def get_person(session: AsyncSession, person_id: str) -> Person | None:
    return await session.get(Person, person_id)


async def unit_ids_of(session: AsyncSession, person_id: str) -> set[str]:
    rows = await session.scalars(
        select(Membership.unit_id).where(Membership.person_id == person_id)
    )
    return set(rows)


async def acting_unit_ids(
    session: AsyncSession, person_id: str, at: datetime | None = None
) -> set[str]:
    """The units a person acts for now: their own, and those of the people they stand in for
    during a running absence, where they may (domain.delegation.units_stood_in_for)."""
    return set(await absences.acting_units(session, person_id, at or datetime.now(UTC)))


async def contacts_of(session: AsyncSession, unit_id: str, *, backups: bool) -> list[Person]:
    rows = await session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.unit_id == unit_id, Membership.is_backup.is_(backups))
        .order_by(Person.id)
    )
    return list(rows)


async def receiving_unit(session: AsyncSession, municipality_number: str, kind: str) -> Unit | None:
    """The municipality's unit of a kind (e.g. psykisk helse og rus) that receives transitions."""
    return await session.scalar(
        select(Unit)
        .where(Unit.municipality_number == municipality_number, Unit.kind == kind)
        .order_by(Unit.id)
        .limit(1)
    )


async def latest_policy(
    session: AsyncSession, *, municipality_number: str, unit_id: str, task_kind: str
) -> EscalationPolicyRow | None:
    """The newest version of the most specific policy that applies."""
    candidates = [
        (EscalationPolicyRow.unit_id == unit_id, EscalationPolicyRow.task_kind == task_kind),
        (EscalationPolicyRow.unit_id == unit_id, EscalationPolicyRow.task_kind.is_(None)),
        (
            EscalationPolicyRow.municipality_number == municipality_number,
            EscalationPolicyRow.unit_id.is_(None),
            EscalationPolicyRow.task_kind == task_kind,
        ),
        (
            EscalationPolicyRow.municipality_number == municipality_number,
            EscalationPolicyRow.unit_id.is_(None),
            EscalationPolicyRow.task_kind.is_(None),
        ),
    ]
    for conditions in candidates:
        row = await session.scalar(
            select(EscalationPolicyRow)
            .where(*conditions)
            .order_by(EscalationPolicyRow.version.desc())
            .limit(1)
        )
        if row is not None:
            return row
    return None


def policy_snapshot_hours(unit: Unit | None) -> OfficeHours:
    if unit is None or not unit.hours:
        return OfficeHours()
    return OfficeHours.model_validate(unit.hours)


def policy_snapshot(row: EscalationPolicyRow, unit: Unit | None) -> EscalationPolicy:
    """Freeze a stored policy, in the owner unit's office hours, for one step."""
    return EscalationPolicy(
        id=row.id,
        version=row.version,
        name=row.name,
        levels=tuple(EscalationLevel.model_validate(level) for level in row.levels),
        hours=policy_snapshot_hours(unit),
    )


async def forward_candidates(
    session: AsyncSession, municipality_number: str, receiving_kind: str
) -> list[tuple[Unit, str | None]]:
    """The municipality's units and other municipalities' receiving units, each with its
    municipality's name: the municipality's own first."""
    rows = await session.execute(
        select(Unit, Municipality.name)
        .outerjoin(Municipality, Municipality.number == Unit.municipality_number)
        .where(or_(Unit.municipality_number == municipality_number, Unit.kind == receiving_kind))
        .order_by(Unit.municipality_number != municipality_number, Municipality.name)
        .order_by(Unit.name, Unit.id)
    )
    return [(unit, name) for unit, name in rows]


async def people_of_units(session: AsyncSession, unit_ids: Iterable[str]) -> list[Person]:
    rows = await session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.unit_id.in_(sorted(unit_ids)))
        .distinct()
        .order_by(Person.name)
    )
    return list(rows)
