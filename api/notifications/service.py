"""The caller's in-app notifications: only their own, and only about transitions the access
model still relates them to (a substitute's notifications end with the absence, an emergency
reader's with the grant); a step they no longer see is not named. For administrators: the
notifications that did not go out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import access as reading
from api.auth import policy
from api.auth.access import Scope
from api.errors import Problem
from api.notifications.schemas import (
    DeliveryFailurePage,
    DeliveryFailurePublic,
    NotificationPublic,
)
from api.pagination import decode_cursor, encode_cursor
from domain.actors import Actor
from store import notifications as queries
from store import transition_family
from store.tables import NotificationRow


async def list_notifications(
    session: AsyncSession, scope: Scope, *, unread_only: bool
) -> list[NotificationPublic]:
    rows = await queries.for_person(session, scope.actor.person_id, unread_only=unread_only)
    transitions = await transition_family.by_ids(session, {row.transition_id for row in rows})
    found = await reading.accesses(session, scope, transitions)
    steps = await reading.visible_step_ids(session, scope, found.readable())
    return [
        _projected(row, steps)
        for row in rows
        if (access := found.get(row.transition_id)) and access.parts
    ]


def _projected(row: NotificationRow, steps: set[str]) -> NotificationPublic:
    notification = NotificationPublic.from_row(row)
    if row.task_id is None or row.task_id in steps:
        return notification
    return notification.model_copy(update={"task_id": None})


async def mark_read(
    session: AsyncSession, actor: Actor, notification_id: int
) -> NotificationPublic:
    if not await queries.mark_read(session, actor.person_id, notification_id, datetime.now(UTC)):
        raise Problem(404, "Not found", f"you have no notification {notification_id}")
    row = await session.get(NotificationRow, notification_id, populate_existing=True)
    assert row is not None  # just updated
    return NotificationPublic.from_row(row)


async def delivery_failures(
    session: AsyncSession, actor: Actor, *, cursor: str | None, limit: int
) -> DeliveryFailurePage:
    policy.may_read_delivery_failures(actor)
    before = decode_cursor(cursor, datetime, int) if cursor else None
    rows = await queries.failures(session, before=before, limit=limit)
    last = rows[-1] if len(rows) == limit else None
    return DeliveryFailurePage(
        items=[DeliveryFailurePublic.from_row(row) for row in rows],
        next_cursor=encode_cursor(last.failed_at, last.id) if last and last.failed_at else None,
    )
