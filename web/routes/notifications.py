"""The signed-in person's in-app notifications (api.notifications: only about transitions the
access model still relates them to), newest first, with "merk som lest"."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from api.directory import lookup
from api.notifications import service as notifications
from api.transitions.steps import steps_of
from web.identity import CsrfChecked, WebScope, mark_web
from web.rendering import render

router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)


@router.get("/varsler")
async def notifications_page(
    request: Request, scope: WebScope, session: SessionDep, uleste: str = ""
) -> Response:
    unread_only = uleste == "ja"
    items = await notifications.list_notifications(session, scope, unread_only=unread_only)
    shown = await steps_of(session, scope, {n.transition_id for n in items}, open_only=False)
    steps = {task.id: task for tasks in shown.values() for task in tasks}
    units = await lookup.unit_names(session, [t.owner_unit_id for t in steps.values()])
    context = {
        "items": items,
        "steps": steps,
        "units": units,
        "my_units": scope.actor.unit_ids,
        "unread_only": unread_only,
    }
    return render(request, "notifications.html", context)


@router.post("/varsler/{notification_id}/lest", dependencies=[CsrfChecked])
async def mark_read(notification_id: int, scope: WebScope, session: SessionDep) -> Response:
    await notifications.mark_read(session, scope.actor, notification_id)
    return RedirectResponse("/varsler", status_code=303)
