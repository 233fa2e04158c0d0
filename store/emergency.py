"""Emergency access grants (blålys, Normen): a health worker outside the care relation opens a
transition for a limited time with a stated reason; leaders follow each grant up."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from store.tables import Base, Membership, Transition


class EmergencyGrantRow(Base):
    __tablename__ = "emergency_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    transition_id: Mapped[str] = mapped_column(ForeignKey("transitions.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    followed_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    followed_up_by: Mapped[str | None] = mapped_column(String(64))
    follow_up_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_emergency_grants_person_expires", "person_id", "expires_at"),)


async def add(session: AsyncSession, **values: object) -> EmergencyGrantRow:
    row = EmergencyGrantRow(**values)
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, grant_id: int) -> EmergencyGrantRow | None:
    return await session.get(EmergencyGrantRow, grant_id)


async def live_reasons(session: AsyncSession, person_id: str, at: datetime) -> dict[str, str]:
    """The transitions `person_id` holds a live grant for, with the newest grant's reason."""
    rows = await session.execute(
        select(EmergencyGrantRow.transition_id, EmergencyGrantRow.reason)
        .where(
            EmergencyGrantRow.person_id == person_id,
            EmergencyGrantRow.granted_at <= at,
            EmergencyGrantRow.expires_at > at,
        )
        .order_by(EmergencyGrantRow.granted_at)
    )
    return {transition_id: reason for transition_id, reason in rows}


async def for_follow_up(
    session: AsyncSession,
    unit_ids: Iterable[str],
    person_id: str,
    *,
    open_only: bool,
    limit: int = 500,
) -> list[tuple[EmergencyGrantRow, Transition]]:
    """Grants used by people of these units, on transitions these units started, or by
    `person_id` themselves; newest first."""
    units = sorted(set(unit_ids))
    members = select(Membership.person_id).where(Membership.unit_id.in_(units))
    query = (
        select(EmergencyGrantRow, Transition)
        .join(Transition, Transition.id == EmergencyGrantRow.transition_id)
        .where(
            or_(
                EmergencyGrantRow.person_id.in_(members),
                Transition.origin_unit_id.in_(units),
                EmergencyGrantRow.person_id == person_id,
            )
        )
    )
    if open_only:
        query = query.where(EmergencyGrantRow.followed_up_at.is_(None))
    query = query.order_by(EmergencyGrantRow.granted_at.desc(), EmergencyGrantRow.id.desc())
    return [(grant, t) for grant, t in await session.execute(query.limit(limit))]


async def mark_followed_up(
    session: AsyncSession, grant_id: int, by: str, note: str | None, at: datetime
) -> None:
    await session.execute(
        update(EmergencyGrantRow)
        .where(EmergencyGrantRow.id == grant_id)
        .values(followed_up_at=at, followed_up_by=by, follow_up_note=note)
    )


async def live_grant(
    session: AsyncSession, person_id: str, transition_ids: Iterable[str], at: datetime
) -> EmergencyGrantRow | None:
    """The person's newest grant live at `at` on one of these transitions."""
    return await session.scalar(
        select(EmergencyGrantRow)
        .where(
            EmergencyGrantRow.person_id == person_id,
            EmergencyGrantRow.transition_id.in_(sorted(set(transition_ids))),
            EmergencyGrantRow.granted_at <= at,
            EmergencyGrantRow.expires_at > at,
        )
        .order_by(EmergencyGrantRow.granted_at.desc(), EmergencyGrantRow.id.desc())
        .limit(1)
    )
