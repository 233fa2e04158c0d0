"""Queries on escalation policies: each edit is a new version row, old ones stay as history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import EscalationPolicyRow


async def versions(session: AsyncSession, policy_id: str) -> list[EscalationPolicyRow]:
    """Every version of one policy, oldest first."""
    rows = await session.scalars(
        select(EscalationPolicyRow)
        .where(EscalationPolicyRow.id == policy_id)
        .order_by(EscalationPolicyRow.version)
    )
    return list(rows)


async def latest_versions(
    session: AsyncSession, municipality_number: str | None = None
) -> list[tuple[EscalationPolicyRow, list[int]]]:
    """The newest version of each policy, with the numbers of all its versions."""
    query = select(EscalationPolicyRow).order_by(
        EscalationPolicyRow.id, EscalationPolicyRow.version
    )
    if municipality_number is not None:
        query = query.where(EscalationPolicyRow.municipality_number == municipality_number)
    grouped: dict[str, list[EscalationPolicyRow]] = {}
    for row in await session.scalars(query):
        grouped.setdefault(row.id, []).append(row)
    return [(rows[-1], [r.version for r in rows]) for rows in grouped.values()]


async def next_version(session: AsyncSession, policy_id: str) -> int:
    current = await session.scalar(
        select(func.max(EscalationPolicyRow.version)).where(EscalationPolicyRow.id == policy_id)
    )
    return (current or 0) + 1


async def add_version(session: AsyncSession, row: EscalationPolicyRow) -> EscalationPolicyRow:
    session.add(row)
    await session.flush()
    return row
