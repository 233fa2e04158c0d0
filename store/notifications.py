"""The notifications table: one row per person (or unit) and channel, keyed for idempotency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
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


async def claim_attempt(
    session: AsyncSession, key: str, values: dict[str, Any]
) -> tuple[datetime | None, int]:
    """Before a send: insert the row if missing and, unless it went out already, count one
    more attempt. Returns (sent_at, attempts); sent_at set means: do not send it again."""
    await add_notification(session, key=key, **values)
    counted = await session.scalar(
        update(NotificationRow)
        .where(NotificationRow.key == key, NotificationRow.sent_at.is_(None))
        .values(attempts=NotificationRow.attempts + 1)
        .returning(NotificationRow.attempts)
    )
    if counted is not None:
        return None, counted
    return await _state(session, key)


async def mark_sent(session: AsyncSession, key: str, at: datetime) -> None:
    """It went out (a failure an earlier attempt recorded no longer stands)."""
    await session.execute(
        update(NotificationRow)
        .where(NotificationRow.key == key)
        .values(sent_at=at, failed_at=None, error=None)
    )


async def mark_failed(
    session: AsyncSession, key: str, at: datetime, error: str
) -> tuple[datetime | None, int]:
    """Mark an unsent row failed with its error; (sent_at, attempts) as the row has them."""
    await session.execute(
        update(NotificationRow)
        .where(NotificationRow.key == key, NotificationRow.sent_at.is_(None))
        .values(failed_at=at, error=error)
    )
    return await _state(session, key)


async def _state(session: AsyncSession, key: str) -> tuple[datetime | None, int]:
    row = (
        await session.execute(
            select(NotificationRow.sent_at, NotificationRow.attempts).where(
                NotificationRow.key == key
            )
        )
    ).one()
    return row.sent_at, row.attempts


async def failures(
    session: AsyncSession, *, before: tuple[datetime, int] | None, limit: int
) -> list[NotificationRow]:
    """Messages that did not go out, newest first; `before` continues after a (failed_at, id)."""
    query = select(NotificationRow).where(
        NotificationRow.failed_at.is_not(None), NotificationRow.sent_at.is_(None)
    )
    if before is not None:
        query = query.where(tuple_(NotificationRow.failed_at, NotificationRow.id) < tuple_(*before))
    order = (NotificationRow.failed_at.desc(), NotificationRow.id.desc())
    return list(await session.scalars(query.order_by(*order).limit(limit)))


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
