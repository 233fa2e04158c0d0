from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActorDep, ScopeDep, SessionDep
from api.notifications import service
from api.notifications.schemas import NotificationPublic

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationPublic])
async def list_notifications(
    scope: ScopeDep, session: SessionDep, unread: bool = False
) -> list[NotificationPublic]:
    """Your in-app notifications, newest first; `unread=true` for the unread ones only."""
    return await service.list_notifications(session, scope, unread_only=unread)


@router.post("/{notification_id}/read", response_model=NotificationPublic)
async def mark_read(
    notification_id: int, actor: ActorDep, session: SessionDep
) -> NotificationPublic:
    return await service.mark_read(session, actor, notification_id)
