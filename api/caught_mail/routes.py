from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.caught_mail import service
from api.caught_mail.schemas import CaughtMailPublic
from api.deps import ActorDep, SettingsDep

PATH = "/api/v1/caught-mail"
router = APIRouter(prefix=PATH, tags=["operations"])


@router.get("", response_model=list[CaughtMailPublic])
async def list_caught_mail(
    actor: ActorDep, settings: SettingsDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[CaughtMailPublic]:
    """E-mail the embedded mail catcher received, newest first (administrators)."""
    return await service.list_caught_mail(settings, actor, limit)
