"""The discharge coordinator's pages: own transitions, and starting a discharge."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.discharges import service as discharges
from api.errors import Problem
from api.lar_changes import service as lar_changes
from web import discharge_form, lar_form, queries
from web.identity import CsrfChecked, WebActor, mark_web
from web.rendering import render

router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)


@router.get("/koordinator")
async def own_transitions(request: Request, actor: WebActor, session: SessionDep) -> Response:
    rows = await queries.own_transitions(session, actor)
    units = await queries.unit_names(
        session, [t.owner_unit_id for _, _, tasks in rows for t in tasks]
    )
    return render(request, "coordinator/list.html", {"rows": rows, "units": units})


async def _form_context(
    request: Request, actor: WebActor, session: SessionDep, values: Any, errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "municipalities": await queries.municipalities(session),
        "origin_units": await queries.origin_units(session, actor),
        "needs": discharge_form.NEEDS,
        "consents": discharge_form.CONSENTS,
        "today": discharges.today_in_norway().isoformat(),
    }


@router.get("/koordinator/ny")
async def new_discharge(request: Request, actor: WebActor, session: SessionDep) -> Response:
    values = {
        "idempotency_key": str(uuid.uuid4()),
        "need_municipal_follow_up": "ja",
        "need_gp": "ja",
    }
    context = await _form_context(request, actor, session, values, {})
    return render(request, "coordinator/new.html", context)


@router.post("/koordinator/ny", dependencies=[CsrfChecked])
async def start_discharge(
    request: Request,
    actor: WebActor,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    body, errors = discharge_form.parse(form)
    if body is not None:
        try:
            started = await discharges.start_discharge(
                session, temporal, settings.temporal_task_queue, actor, body,
                str(form.get("idempotency_key") or uuid.uuid4()),
            )  # fmt: skip
        except Problem as problem:
            if problem.status != 422:
                raise
            errors = _service_errors(problem)
        else:
            return RedirectResponse(f"/overganger/{started.id}?melding=startet", status_code=303)
    context = await _form_context(request, actor, session, dict(form), errors)
    return render(request, "coordinator/new.html", context, status=422)


def _service_errors(
    problem: Problem,
    field_of: Callable[[str], str] = discharge_form.field_of,
    message_for: Callable[[str, str], str] = discharge_form.message_for,
) -> dict[str, str]:
    """The service's 422 (names the request's field) as messages at the form's fields."""
    errors = {}
    for item in problem.extra.get("errors", []):
        field = field_of(item["field"])
        errors[field] = message_for(field, item.get("message", ""))
    return discharge_form.ordered(errors)


async def _lar_context(
    actor: WebActor, session: SessionDep, values: Any, errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "municipalities": await queries.municipalities(session),
        "origin_units": await queries.origin_units(session, actor),
        "dispensing_units": await queries.municipal_units(session),
        "today": discharges.today_in_norway().isoformat(),
    }


@router.get("/koordinator/lar-endring")
async def new_lar_change(request: Request, actor: WebActor, session: SessionDep) -> Response:
    values = {"idempotency_key": str(uuid.uuid4())}
    context = await _lar_context(actor, session, values, {})
    return render(request, "coordinator/lar.html", context)


@router.post("/koordinator/lar-endring", dependencies=[CsrfChecked])
async def start_lar_change(
    request: Request,
    actor: WebActor,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    body, errors = lar_form.parse(form)
    if body is not None:
        try:
            started = await lar_changes.start_lar_change(
                session, temporal, settings.temporal_task_queue, actor, body,
                str(form.get("idempotency_key") or uuid.uuid4()),
            )  # fmt: skip
        except Problem as problem:
            if problem.status != 422:
                raise
            errors = _service_errors(problem, lar_form.field_of, lar_form.message_for)
        else:
            return RedirectResponse(f"/overganger/{started.id}?melding=lar", status_code=303)
    context = await _lar_context(actor, session, dict(form), lar_form.ordered(errors))
    return render(request, "coordinator/lar.html", context, status=422)
