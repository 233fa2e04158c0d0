"""The notifications table: one row per person (or unit) and channel, keyed for idempotency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import NotificationRow


async def add_notification(session: AsyncSession, **values: object) -> bool:
    """Insert unless a row with the same key exists; True if this call inserted it."""
    result = await session.execute(
        insert(NotificationRow)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(NotificationRow.id)
    )
    return result.scalar_one_or_none() is not None


async def mark_sent(session: AsyncSession, key: str, at: datetime) -> None:
    await session.execute(
        update(NotificationRow).where(NotificationRow.key == key).values(sent_at=at)
    )


async def sent_at(session: AsyncSession, key: str) -> datetime | None:
    """When the notification with this key went out; None if it has not (yet)."""
    return await session.scalar(select(NotificationRow.sent_at).where(NotificationRow.key == key))


async def is_sent(session: AsyncSession, key: str) -> bool:
    sent = await session.scalar(select(NotificationRow.sent_at).where(NotificationRow.key == key))
    return sent is not None


async def for_person(
    session: AsyncSession, person_id: str, *, unread_only: bool = False
) -> list[NotificationRow]:
    query = select(NotificationRow).where(
        NotificationRow.person_id == person_id, NotificationRow.channel == "in_app"
    )
    if unread_only:
        query = query.where(NotificationRow.read_at.is_(None))
    return list(await session.scalars(query.order_by(NotificationRow.created_at.desc())))


async def mark_read(
    session: AsyncSession, person_id: str, notification_id: int, at: datetime
) -> bool:
    result = await session.execute(
        update(NotificationRow)
        .where(NotificationRow.id == notification_id, NotificationRow.person_id == person_id)
        .values(read_at=at)
        .returning(NotificationRow.id)
    )
    return result.scalar_one_or_none() is not None
