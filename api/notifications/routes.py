from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, ScopeDep, SessionDep
from api.idempotency import IdempotentRoute
from api.notifications import service
from api.notifications.schemas import DeliveryFailurePage, NotificationPublic

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], route_class=IdempotentRoute
)


@router.get("", response_model=list[NotificationPublic])
async def list_notifications(
    scope: ScopeDep, session: SessionDep, unread: bool = False
) -> list[NotificationPublic]:
    """Your in-app notifications, newest first; `unread=true` for the unread ones only."""
    return await service.list_notifications(session, scope, unread_only=unread)


@router.get("/failures", response_model=DeliveryFailurePage)
async def delivery_failures(
    actor: ActorDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryFailurePage:
    """E-mails and webhooks that did not go out, newest first, with the error and the number
    of tries (administrators). Pass `next_cursor` back as `cursor` for the next page."""
    return await service.delivery_failures(session, actor, cursor=cursor, limit=limit)


@router.post("/{notification_id}/read", response_model=NotificationPublic)
async def mark_read(
    notification_id: int, actor: ActorDep, session: SessionDep
) -> NotificationPublic:
    return await service.mark_read(session, actor, notification_id)
