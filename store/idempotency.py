"""First answers to requests that carried an Idempotency-Key, for exact replay of retries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, JsonB


class IdempotentAnswer(Base):
    """Keyed by (person, route, key): two people's keys never collide."""

    __tablename__ = "idempotent_answers"

    actor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    route: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JsonB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


async def wait_for_turn(session: AsyncSession, *, actor_id: str, route: str, key: str) -> None:
    """Serve (person, route, key) one request at a time: a retry sent while the first is
    still running waits for its commit and then finds its answer. Held until commit."""
    name = f"{actor_id}:{route}:{key}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))


async def find(
    session: AsyncSession, *, actor_id: str, route: str, key: str
) -> IdempotentAnswer | None:
    return await session.scalar(
        select(IdempotentAnswer).where(
            IdempotentAnswer.actor_id == actor_id,
            IdempotentAnswer.route == route,
            IdempotentAnswer.key == key,
        )
    )


async def remember(session: AsyncSession, answer: IdempotentAnswer) -> None:
    """Keep the first answer; a concurrent duplicate that lost the race changes nothing."""
    values = {c.name: getattr(answer, c.name) for c in IdempotentAnswer.__table__.columns}
    await session.execute(insert(IdempotentAnswer).values(**values).on_conflict_do_nothing())
