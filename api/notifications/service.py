"""The caller's in-app notifications: only their own, so no further authorization rule."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem
from api.notifications.schemas import NotificationPublic
from domain.actors import Actor
from store import notifications as queries
from store.tables import NotificationRow


async def list_notifications(
    session: AsyncSession, actor: Actor, *, unread_only: bool
) -> list[NotificationPublic]:
    rows = await queries.for_person(session, actor.person_id, unread_only=unread_only)
    return [NotificationPublic.from_row(row) for row in rows]


async def mark_read(
    session: AsyncSession, actor: Actor, notification_id: int
) -> NotificationPublic:
    if not await queries.mark_read(session, actor.person_id, notification_id, datetime.now(UTC)):
        raise Problem(404, "Not found", f"you have no notification {notification_id}")
    row = await session.get(NotificationRow, notification_id, populate_existing=True)
    assert row is not None  # just updated
    return NotificationPublic.from_row(row)
