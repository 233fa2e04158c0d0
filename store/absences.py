"""Absences (ferie, sykefravær) with a named substitute (stedfortreder), and their queries.

While an absence is running, notifications meant for the absent person go to the substitute,
and the substitute acts for the absent person's units. Only while the substitute may stand in
(domain.delegation: they are a contact or backup of one of the absent person's units): an
absence written before that rule, or one whose substitute has since left the unit, gives
neither access nor notifications.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from domain.access import UnitFacts
from domain.delegation import substitute_refusal, units_stood_in_for
from store.tables import Base, Membership, Unit


class AbsenceRow(Base):
    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    substitute_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_absences_person_period", "person_id", "starts_at", "ends_at"),
        Index("ix_absences_substitute_period", "substitute_id", "starts_at", "ends_at"),
    )


def _running(at: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    # Half-open [starts_at, ends_at): ending an absence "now" takes effect at once.
    return AbsenceRow.starts_at <= at, AbsenceRow.ends_at > at


async def substitute_for(session: AsyncSession, person_id: str, at: datetime) -> str | None:
    """Who stands in for `person_id` at `at` (the latest-started eligible absence wins)."""
    rows = await session.scalars(
        select(AbsenceRow.substitute_id)
        .where(AbsenceRow.person_id == person_id, *_running(at))
        .order_by(AbsenceRow.starts_at.desc(), AbsenceRow.id.desc())
    )
    candidates = list(rows)
    units = await memberships_of(session, {person_id, *candidates})
    eligible = (c for c in candidates if _may_stand_in(units, person_id, c))
    return next(eligible, None)


async def stood_in_for(session: AsyncSession, substitute_id: str, at: datetime) -> set[str]:
    """The people whose running absence names `substitute_id` (eligible or not: see
    store.directory.acting_unit_ids)."""
    rows = await session.scalars(
        select(AbsenceRow.person_id).where(AbsenceRow.substitute_id == substitute_id, *_running(at))
    )
    return set(rows)


def _may_stand_in(units: dict[str, frozenset[str]], absent_id: str, substitute_id: str) -> bool:
    empty: frozenset[str] = frozenset()
    refusal = substitute_refusal(units.get(absent_id, empty), units.get(substitute_id, empty))
    return refusal is None


async def memberships_of(session: AsyncSession, person_ids: set[str]) -> dict[str, frozenset[str]]:
    """The units each person is a contact or backup of (their own, not stood in for)."""
    rows = await session.execute(
        select(Membership.person_id, Membership.unit_id).where(Membership.person_id.in_(person_ids))
    )
    found: dict[str, set[str]] = {}
    for person_id, unit_id in rows:
        found.setdefault(person_id, set()).add(unit_id)
    return {person_id: frozenset(units) for person_id, units in found.items()}


async def acting_units(session: AsyncSession, person_id: str, at: datetime) -> frozenset[str]:
    """The units a person acts for at `at`: their own, and those they may stand in for
    (domain.delegation.units_stood_in_for): the one source for the access model and commands."""
    absent = await stood_in_for(session, person_id, at)
    members = await memberships_of(session, {person_id, *absent})
    own = members.pop(person_id, frozenset())
    if not members:
        return own
    involved = set(own).union(*members.values())
    rows = await session.scalars(select(Unit).where(Unit.id.in_(sorted(involved))))
    units = {
        r.id: UnitFacts(id=r.id, kind=r.kind, municipality_number=r.municipality_number)
        for r in rows
    }
    return own | units_stood_in_for(own, members, units)


async def add(session: AsyncSession, **values: object) -> AbsenceRow:
    row = AbsenceRow(**values)
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, absence_id: int) -> AbsenceRow | None:
    return await session.get(AbsenceRow, absence_id)


async def involving(
    session: AsyncSession, person_ids: set[str], *, current_after: datetime
) -> list[AbsenceRow]:
    """Absences of, or covered by, these people that have not ended before `current_after`."""
    rows = await session.scalars(
        select(AbsenceRow)
        .where(
            or_(AbsenceRow.person_id.in_(person_ids), AbsenceRow.substitute_id.in_(person_ids)),
            AbsenceRow.ends_at > current_after,
        )
        .order_by(AbsenceRow.starts_at, AbsenceRow.id)
    )
    return list(rows)


async def members_of(session: AsyncSession, unit_ids: set[str]) -> set[str]:
    """Everyone who is a contact (or backup) of these units."""
    if not unit_ids:
        return set()
    rows = await session.scalars(
        select(Membership.person_id).where(Membership.unit_id.in_(unit_ids))
    )
    return set(rows)
