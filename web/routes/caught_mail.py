"""Administrators read what the embedded default's mail catcher caught (e-post i testmodus)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.caught_mail import service
from api.deps import SettingsDep
from web.identity import WebActor, mark_web
from web.rendering import render

PAGE_PATH = "/drift/epost"
router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)


@router.get(PAGE_PATH)
async def caught_mail_page(request: Request, actor: WebActor, settings: SettingsDep) -> Response:
    mails = await service.list_caught_mail(settings, actor, limit=200)
    context = {"mails": mails, "catching": not settings.smtp_configured}
    return render(request, "drift/epost.html", context)
