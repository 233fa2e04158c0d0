"""One transition: its steps with deadlines and its timeline (every step, notification and
escalation), and the coordinator's commands on it: utskrivningsklar, utskrevet, avmelding.
The municipality records the first contact after discharge here too."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowUpdateFailedError

from api.auth import policy
from api.auth.access import Scope
from api.deps import SessionDep, SettingsDep, TemporalDep, get_settings
from api.directory import lookup
from api.emergency import service as emergency
from api.emergency.schemas import EmergencyAccessCreate
from api.errors import Problem, refusal_reason
from api.transitions import service as transitions
from api.transitions.schemas import TransitionDetail
from domain.access import Part, Relation
from domain.actors import Actor
from domain.discharge import MarkDischarged, MarkReady, RecordFirstContact
from domain.transition import CancelTransition
from web.access_view import AccessView, Refused
from web.errors import refused_page
from web.formatting import NEED_LABELS, TRANSITION_KIND, parse_date
from web.identity import CsrfChecked, WebScope, mark_web
from web.rendering import render

router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)

DISCHARGE = "discharge"
MESSAGES = {
    "startet": "Utskrivningen er startet. Kommunen har fått oppgaven i innboksen sin.",
    "klar": "Pasienten er meldt utskrivningsklar. Kommunen er varslet.",
    "utskrevet": "Pasienten er registrert som utskrevet. Kommunen er varslet.",
    "avmeldt": "Overgangen er avmeldt. Åpne oppgaver er avlyst.",
    "kontakt": "Første kontakt etter utskrivning er registrert.",
    "lar": "LAR-endringen er foreslått. Kommunens LAR-kontakt er bedt om å svare før den gjelder.",
    "nodtilgang": "Overgangen er åpnet med nødtilgang. Tilgangen er logget.",
}
EMERGENCY_MESSAGES = {
    "reason": "Skriv hvorfor du må åpne overgangen nå.",
    "reason_long": "Begrunnelsen kan være høyst 2000 tegn.",
    "purpose_long": "Formålet kan være høyst 200 tegn.",
}
# What the coordinator should check after a start (api.discharges' warnings), by code.
WARNINGS = {
    "navn": "Fødselsnummeret er allerede kjent med et annet navn. Sjekk at nummer og navn er "
    "riktige. Navnet du skrev, brukes bare for denne utskrivningen.",
}


def may_drive(actor: Actor, origin_unit_id: str) -> bool:
    try:
        policy.may_drive_transition(actor, origin_unit_id)
    except policy.Forbidden:
        return False
    return True


async def _page(
    request: Request, scope: Scope, session: SessionDep, transition_id: str,
    *, message: str = "", error: str = "", errors: dict[str, str] | None = None,
    warning: str = "",
) -> Response:  # fmt: skip
    refused_here(request, scope, transition_id)
    detail = await transitions.transition_detail(session, scope, transition_id)
    request.state.refused = None
    context = {
        **await _names(session, detail),
        "t": detail,
        "patient_name": detail.patient_name or "",
        "access": await _access(session, scope, detail),
        "needs": [NEED_LABELS.get(k, k) for k, v in (detail.needs or {}).items() if v],
        "may_drive": detail.kind == DISCHARGE and may_drive(scope.actor, detail.origin_unit_id),
        "may_record_contact": detail.kind == DISCHARGE and _holds_a_step(scope, detail),
        "my_units": scope.actor.unit_ids,
        "today": date.today().isoformat(),
        "message": message,
        "warning": warning,
        "error": error,
        "errors": errors or {},
    }
    context["heading"] = _heading(detail.kind, str(context["patient_name"]), context)
    status = 422 if errors else 409 if error else 200
    return render(request, "transition.html", context, status=status)


def _holds_a_step(scope: Scope, detail: TransitionDetail) -> bool:
    """A municipal unit of the actor holds a step of this transition (not of a child)."""
    held = {t.owner_unit_id for t in detail.tasks if t.transition_id == detail.id}
    return bool((held - {detail.origin_unit_id}) & scope.actor.unit_ids)


async def _names(session: SessionDep, detail: TransitionDetail) -> dict[str, object]:
    """Names for the ids the page shows: units, people, the municipality."""
    unit_ids = [detail.origin_unit_id, *(t.owner_unit_id for t in detail.tasks)]
    unit_ids += [
        unit
        for e in detail.timeline
        for k, v in (e.detail or {}).items()
        if "unit" in k
        for unit in str(v).split(",")
    ]
    people = [detail.started_by, detail.contact_person_id, *(e.actor_id for e in detail.timeline)]
    people += [str(e.detail.get("person_id")) for e in detail.timeline if e.detail]
    units = await lookup.unit_names(session, unit_ids)
    persons = await lookup.person_names(session, people)
    return {
        "units": units,
        "people": persons,
        "names": {**units, **persons},
        "municipality": await lookup.municipality_label(session, detail.municipality_number),
    }


async def _access(session: SessionDep, scope: Scope, detail: TransitionDetail) -> AccessView:
    """What the page says about why the reader sees what they see (domain.access)."""
    view = AccessView(
        relations=frozenset(Relation(r) for r in detail.relations),
        parts=frozenset(Part(p) for p in detail.parts),
    )
    if not view.is_emergency:
        return view
    grant = await emergency.live_grant(session, scope, [detail.id, detail.parent_transition_id])
    return replace(view, grant=grant)


def _heading(kind: str, patient_name: str, context: dict[str, object]) -> str:
    word = TRANSITION_KIND.get(kind, kind)
    if patient_name:
        return f"{word}: {patient_name}"
    t = context["t"]
    return f"{word} fra {context['units'].get(t.origin_unit_id, t.origin_unit_id)}"  # type: ignore[attr-defined]


def refused_here(request: Request, scope: Scope, transition_id: str) -> None:
    """If the model refuses this transition, the error page says why and offers a health
    worker emergency access (web.errors renders it after the refusal is audited)."""
    request.state.refused = Refused(
        "transition",
        transition_id=transition_id,
        offer_emergency=emergency.offered_to(scope),
        lasts=get_settings(request).emergency_access_for,
    )


@router.get("/overganger/{transition_id}")
async def transition_page(
    request: Request, transition_id: str, scope: WebScope, session: SessionDep,
    melding: str = "", advarsel: str = "",
) -> Response:  # fmt: skip
    return await _page(
        request, scope, session, transition_id,
        message=MESSAGES.get(melding, ""), warning=WARNINGS.get(advarsel, ""),
    )  # fmt: skip


def _emergency_body(values: dict[str, str]) -> tuple[EmergencyAccessCreate | None, dict[str, str]]:
    if not values["reason"]:
        return None, {"reason": EMERGENCY_MESSAGES["reason"]}
    try:
        body = EmergencyAccessCreate(reason=values["reason"], purpose=values["purpose"] or None)
    except ValidationError as invalid:
        fields = {str(e["loc"][0]) for e in invalid.errors()}
        return None, {f: EMERGENCY_MESSAGES[f"{f}_long"] for f in sorted(fields)}
    return body, {}


@router.post("/overganger/{transition_id}/nodtilgang", dependencies=[CsrfChecked])
async def open_in_emergency(
    request: Request, transition_id: str, scope: WebScope, session: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    """Blålys: a refused health worker opens the transition with a reason (api.emergency)."""
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in ("reason", "purpose")}
    body, errors = _emergency_body(values)
    refused_here(request, scope, transition_id)
    if body is None:
        refused = replace(request.state.refused, values=values, errors=errors)
        return refused_page(request, refused, status=422)
    try:
        await emergency.open_in_emergency(session, scope, settings, transition_id, body)
    except Problem as problem:
        if problem.status != 409:
            raise
        # They already read it for care: no emergency access needed, so just show it.
        return RedirectResponse(f"/overganger/{transition_id}", status_code=303)
    return RedirectResponse(f"/overganger/{transition_id}?melding=nodtilgang", status_code=303)


async def _drive(
    request: Request, scope: Scope, session: SessionDep, temporal: TemporalDep,
    transition_id: str, command: BaseModel, done: str,
) -> Response:  # fmt: skip
    try:
        await transitions.send(
            temporal, await transitions.get_transition(session, transition_id), command
        )
    except WorkflowUpdateFailedError as failure:
        reason = refusal_reason(failure)
        return await _page(request, scope, session, transition_id, error=reason)
    return RedirectResponse(f"/overganger/{transition_id}?melding={done}", status_code=303)


@router.post("/overganger/{transition_id}/utskrivningsklar", dependencies=[CsrfChecked])
async def mark_ready(
    request: Request, transition_id: str, scope: WebScope, session: SessionDep,
    temporal: TemporalDep,
) -> Response:  # fmt: skip
    await transitions.commanded_by_origin(
        session, scope.actor, transition_id, kind=DISCHARGE, what="this command"
    )
    command = MarkReady(actor=scope.actor)
    return await _drive(request, scope, session, temporal, transition_id, command, "klar")


@router.post("/overganger/{transition_id}/utskrevet", dependencies=[CsrfChecked])
async def mark_discharged(
    request: Request, transition_id: str, scope: WebScope, session: SessionDep,
    temporal: TemporalDep,
) -> Response:  # fmt: skip
    await transitions.commanded_by_origin(
        session, scope.actor, transition_id, kind=DISCHARGE, what="this command"
    )
    form = await request.form()
    command = MarkDischarged(actor=scope.actor, planned=form.get("planned") != "nei")
    return await _drive(request, scope, session, temporal, transition_id, command, "utskrevet")


@router.post("/overganger/{transition_id}/avmeld", dependencies=[CsrfChecked])
async def cancel(
    request: Request, transition_id: str, scope: WebScope, session: SessionDep,
    temporal: TemporalDep,
) -> Response:  # fmt: skip
    await transitions.commanded_by_origin(session, scope.actor, transition_id)
    reason = str((await request.form()).get("reason", "")).strip()
    if not reason:
        errors = {"reason": "Skriv hvorfor overgangen avmeldes."}
        return await _page(request, scope, session, transition_id, errors=errors)
    command = CancelTransition(actor=scope.actor, reason=reason)
    return await _drive(request, scope, session, temporal, transition_id, command, "avmeldt")


@router.post("/overganger/{transition_id}/forste-kontakt", dependencies=[CsrfChecked])
async def first_contact(
    request: Request, transition_id: str, scope: WebScope, session: SessionDep,
    temporal: TemporalDep,
) -> Response:  # fmt: skip
    transition = await transitions.commanded_by_municipality(
        session, scope.actor, transition_id, kind=DISCHARGE, what="a first contact"
    )
    form = await request.form()
    try:
        command = RecordFirstContact(
            actor=scope.actor,
            contacted_on=parse_date(str(form.get("contacted_on", ""))),
            note=str(form.get("note", "")).strip() or None,
        )
    except (ValueError, ValidationError):
        errors = {"contacted_on": "Skriv datoen for første kontakt som dd.mm.åååå."}
        return await _page(request, scope, session, transition_id, errors=errors)
    try:
        await transitions.send_for_task(temporal, transition, command)
    except WorkflowUpdateFailedError as failure:
        reason = refusal_reason(failure)
        return await _page(request, scope, session, transition_id, error=reason)
    return RedirectResponse(f"/overganger/{transition_id}?melding=kontakt", status_code=303)
