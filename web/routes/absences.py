"""Fravær (ferie, sykdom) with a substitute who gets one's tasks meanwhile (issue 4's
`api.absences.service`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.absences import service as absences
from api.absences.schemas import AbsenceCreate
from api.auth.access import Scope
from api.deps import SessionDep
from api.directory import lookup
from api.errors import Problem
from domain.calendar import OSLO
from web.formatting import parse_date
from web.identity import CsrfChecked, WebScope, mark_web
from web.rendering import render

router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)

MESSAGES = {"lagret": "Fraværet er registrert.", "avsluttet": "Fraværet er avsluttet."}
NOT_ELIGIBLE = "Velg en vara som er kontakt eller vara for en av enhetene dine."


async def _page(
    request: Request, scope: Scope, session: SessionDep,
    values: dict[str, str], errors: dict[str, str], message: str = "",
) -> Response:  # fmt: skip
    listed = await absences.list_absences(session, scope)
    people = [a.person_id for a in listed] + [a.substitute_id for a in listed]
    context = {
        "absences": listed,
        "names": await lookup.person_names(session, people),
        "colleagues": await absences.colleagues(session, scope.actor),
        "values": values,
        "errors": errors,
        "message": message,
        "today": date.today().isoformat(),
    }
    return render(request, "absences.html", context, status=422 if errors else 200)


@router.get("/fravaer")
async def absences_page(
    request: Request, scope: WebScope, session: SessionDep, melding: str = ""
) -> Response:
    return await _page(request, scope, session, {}, {}, MESSAGES.get(melding, ""))


def _body(form: dict[str, str]) -> AbsenceCreate:
    """From 'fra og med' to 'til og med' whole days in Norwegian time."""
    first, last = parse_date(form.get("starts_on", "")), parse_date(form.get("ends_on", ""))
    if first is None or last is None:
        raise ValueError("dates as dd.mm.åååå")
    return AbsenceCreate(
        starts_at=datetime.combine(first, time.min, OSLO),
        ends_at=datetime.combine(last + timedelta(days=1), time.min, OSLO),
        substitute_id=form.get("substitute_id", ""),
        reason=form.get("reason", "").strip() or None,
    )


@router.post("/fravaer", dependencies=[CsrfChecked])
async def add_absence(request: Request, scope: WebScope, session: SessionDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    errors = {}
    if not form.get("substitute_id"):
        errors["substitute_id"] = "Velg hvem som er vara mens du er borte."
    try:
        body = _body(form)
    except ValueError:  # ValidationError is a ValueError: bad or reversed dates
        errors.setdefault(
            "ends_on",
            "Skriv første og siste fraværsdag som dd.mm.åååå; siste kan ikke være før første.",
        )
    if errors:
        return await _page(request, scope, session, form, errors)
    try:
        await absences.create_absence(session, scope, body)
    except Problem as problem:
        if problem.status != 422:
            raise
        return await _page(request, scope, session, form, {"substitute_id": NOT_ELIGIBLE})
    return RedirectResponse("/fravaer?melding=lagret", status_code=303)


@router.post("/fravaer/{absence_id}/avslutt", dependencies=[CsrfChecked])
async def end_absence(absence_id: int, scope: WebScope, session: SessionDep) -> Response:
    await absences.end_absence(session, scope, absence_id)
    return RedirectResponse("/fravaer?melding=avsluttet", status_code=303)
