"""One transition: its steps with deadlines and its timeline (every step, notification and
escalation), and the coordinator's commands on it: utskrivningsklar, utskrevet, avmelding.
The municipality records the first contact after discharge here too."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api.auth import policy
from api.auth.access import Scope
from api.deps import SessionDep, TemporalDep
from api.transitions import service as transitions
from domain.actors import Actor
from domain.discharge import MarkDischarged, MarkReady, RecordFirstContact
from domain.transition import CancelTransition
from web import queries
from web.formatting import TRANSITION_KIND, parse_date
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
) -> Response:  # fmt: skip
    detail = await transitions.transition_detail(session, scope, transition_id)
    patient = await queries.patient_of(session, transition_id)
    unit_ids = [detail.origin_unit_id, *(t.owner_unit_id for t in detail.tasks)]
    unit_ids += [
        str(v) for e in detail.timeline for k, v in (e.detail or {}).items() if "unit" in k
    ]
    people = [detail.started_by, *(e.actor_id for e in detail.timeline)]
    people += [str(e.detail.get("person_id")) for e in detail.timeline if e.detail]
    involved = {detail.origin_unit_id, *(t.owner_unit_id for t in detail.tasks)}
    context = {
        "t": detail,
        # Leaders reading for oversight see the case, not who the patient is.
        "patient_name": patient.name if patient and involved & scope.actor.unit_ids else "",
        "units": await queries.unit_names(session, unit_ids),
        "people": await queries.person_names(session, people),
        "municipality": await queries.municipality_name(session, detail.municipality_number),
        "may_drive": detail.kind == DISCHARGE and may_drive(scope.actor, detail.origin_unit_id),
        "may_record_contact": detail.kind == DISCHARGE
        and bool((involved - {detail.origin_unit_id}) & scope.actor.unit_ids),
        "today": date.today().isoformat(),
        "message": message,
        "error": error,
        "errors": errors or {},
    }
    context["names"] = {**context["units"], **context["people"]}  # type: ignore[dict-item]
    context["heading"] = _heading(detail.kind, str(context["patient_name"]), context)
    status = 422 if errors else 409 if error else 200
    return render(request, "transition.html", context, status=status)


def _heading(kind: str, patient_name: str, context: dict[str, object]) -> str:
    word = TRANSITION_KIND.get(kind, kind)
    if patient_name:
        return f"{word}: {patient_name}"
    t = context["t"]
    return f"{word} fra {context['units'].get(t.origin_unit_id, t.origin_unit_id)}"  # type: ignore[attr-defined]


@router.get("/overganger/{transition_id}")
async def transition_page(
    request: Request, transition_id: str, scope: WebScope, session: SessionDep, melding: str = ""
) -> Response:
    return await _page(request, scope, session, transition_id, message=MESSAGES.get(melding, ""))


async def _drive(
    request: Request, scope: Scope, session: SessionDep, temporal: TemporalDep,
    transition_id: str, update: str, command: BaseModel, done: str,
) -> Response:  # fmt: skip
    try:
        await transitions.send(
            temporal, await transitions.get_transition(session, transition_id), update, command
        )
    except WorkflowUpdateFailedError as failure:
        cause = failure.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(failure)
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
    return await _drive(
        request, scope, session, temporal, transition_id, "mark_ready", command, "klar"
    )


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
    return await _drive(
        request, scope, session, temporal, transition_id, "mark_discharged", command, "utskrevet"
    )


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
    return await _drive(
        request, scope, session, temporal, transition_id, "cancel", command, "avmeldt"
    )


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
        await transitions.send_for_task(temporal, transition, "record_first_contact", command)
    except WorkflowUpdateFailedError as failure:
        cause = failure.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(failure)
        return await _page(request, scope, session, transition_id, error=reason)
    return RedirectResponse(f"/overganger/{transition_id}?melding=kontakt", status_code=303)
