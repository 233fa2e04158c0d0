"""The discharge coordinator's pages: own transitions, and starting a discharge."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.directory import lookup
from api.discharges import service as discharges
from api.discharges.schemas import DischargeCreate
from api.errors import Problem
from api.lar_changes import service as lar_changes
from api.lar_changes.schemas import LarChangeCreate
from api.transitions import own
from foundation.settings import Settings
from web import discharge_form, lar_form
from web.identity import CsrfChecked, WebActor, WebScope, mark_web
from web.rendering import render

Body = TypeVar("Body")
router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)


@router.get("/koordinator")
async def own_transitions(request: Request, scope: WebScope, session: SessionDep) -> Response:
    rows = await own.own_transitions(session, scope)
    units = await lookup.unit_names(session, [t.owner_unit_id for r in rows for t in r.tasks])
    return render(request, "coordinator/list.html", {"rows": rows, "units": units})


async def _form_context(
    request: Request, actor: WebActor, session: SessionDep, values: Any, errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "municipalities": await lookup.municipalities(session),
        "origin_units": await lookup.origin_units(session, actor),
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
    warnings: list[str] = []
    under_way: list[str] = []

    async def start(body: DischargeCreate, key: str, queue: str) -> str:
        try:
            started = await discharges.start_discharge(session, temporal, queue, actor, body, key)
        except Problem as problem:
            under_way.append(_under_way(problem))
            return ""
        warnings.extend(w.code for w in started.warnings)
        return started.id

    form, started_id, errors = await _start_from_form(request, settings, discharge_form, start)
    if started_id:
        flag = "&advarsel=navn" if "patient_name_differs" in warnings else ""
        return RedirectResponse(f"/overganger/{started_id}?melding=startet{flag}", status_code=303)
    if under_way:
        errors = discharge_form.ordered({**errors, "new_episode": discharge_form.SECOND_EPISODE})
    context = await _form_context(request, actor, session, dict(form), errors)
    context["under_way_id"] = under_way[0] if under_way else ""
    return render(request, "coordinator/new.html", context, status=409 if under_way else 422)


def _under_way(problem: Problem) -> str:
    """The discharge under way that refused a second one (api.discharges' 409), else re-raise."""
    existing = problem.extra.get("existing_transition_id")
    if problem.status != 409 or not existing:
        raise problem
    return str(existing)


async def _start_from_form(
    request: Request,
    settings: Settings,
    form_rules: ModuleType,
    start: Callable[[Body, str, str], Awaitable[str]],
) -> tuple[FormData, str | None, dict[str, str]]:
    """The one way a form starts a transition: parse it by `form_rules`, start what it asks
    for under its idempotency key; the service's 422 (it names the request's field) becomes
    messages at the form's fields. Returns the form, the new transition's id, the errors."""
    form = await request.form()
    body, errors = form_rules.parse(form)
    if body is None:
        return form, None, errors
    key = str(form.get("idempotency_key") or uuid.uuid4())
    try:
        return form, await start(body, key, settings.temporal_task_queue), errors
    except Problem as problem:
        if problem.status != 422:
            raise
        return form, None, _messages_at_fields(problem, form_rules)


def _messages_at_fields(problem: Problem, form_rules: ModuleType) -> dict[str, str]:
    messages = {}
    for item in problem.extra.get("errors", []):
        field = form_rules.field_of(item["field"])
        messages[field] = form_rules.message_for(field, item.get("message", ""))
    return form_rules.ordered(messages)


async def _lar_context(
    actor: WebActor, session: SessionDep, values: Any, errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "municipalities": await lookup.municipalities(session),
        "origin_units": await lookup.origin_units(session, actor),
        "dispensing_units": await lookup.municipal_units(session),
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
    async def start(body: LarChangeCreate, key: str, queue: str) -> str:
        started = await lar_changes.start_lar_change(session, temporal, queue, actor, body, key)
        return started.id

    form, started_id, errors = await _start_from_form(request, settings, lar_form, start)
    if started_id:
        return RedirectResponse(f"/overganger/{started_id}?melding=lar", status_code=303)
    context = await _lar_context(actor, session, dict(form), errors)
    return render(request, "coordinator/lar.html", context, status=422)
