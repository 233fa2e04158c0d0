"""Sign-in and sign-out. The development sign-in lists directory users (the same ones
`overgang token` knows) and exists only while no OpenID Connect issuer is configured."""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import people
from api.deps import SessionDep, SettingsDep
from api.directory import lookup
from api.errors import Problem
from foundation.settings import Settings
from web import oidc, sessions
from web.errors import error_page
from web.identity import CsrfChecked, SignInRequired, mark_web, web_actor
from web.rendering import render

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)

ROLE_LABELS = {
    "discharge_coordinator": "Utskrivningskoordinator",
    "lar_consultant": "LAR-konsulent",
    "lar_physician": "LAR-lege",
    "municipal_contact": "Kontaktperson i kommunen",
    "leader": "Leder",
    "administrator": "Systemforvalter",
}


def start_page_for(roles: frozenset[str]) -> str:
    if "discharge_coordinator" in roles or "lar_consultant" in roles:
        return "/koordinator"
    if "municipal_contact" in roles:
        return "/innboks"
    if "leader" in roles:
        return "/leder"
    if "administrator" in roles:
        return "/drift/epost"
    return "/logg-inn"


def safe_next(target: str | None) -> str | None:
    """Only our own paths: never redirect to another site after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@router.get("/")
async def home(request: Request, session: SessionDep) -> Response:
    try:
        actor = await web_actor(request, session)
    except SignInRequired:
        return RedirectResponse("/logg-inn", status_code=303)
    return RedirectResponse(start_page_for(frozenset(r.value for r in actor.roles)), 303)


@router.get("/logg-inn")
async def sign_in_page(
    request: Request, session: SessionDep, settings: SettingsDep, q: str = "", neste: str = ""
) -> Response:
    if settings.oidc_issuer:
        context = {"issuer": settings.oidc_issuer, "neste": safe_next(neste) or ""}
        return render(request, "signin_oidc.html", context)
    users = await lookup.sign_in_list(session, q.strip())
    return render(
        request,
        "signin.html",
        {"users": users, "q": q, "neste": safe_next(neste) or "", "role_labels": ROLE_LABELS},
    )


@router.post("/logg-inn", dependencies=[CsrfChecked])
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    person_id: Annotated[str, Form()],
    neste: Annotated[str, Form()] = "",
) -> Response:
    if settings.oidc_issuer:
        return error_page(request, 403, "Innlogging skjer hos identitetsleverandøren.")
    person = await people.person(session, person_id)
    if person is None:
        return error_page(request, 404, f"Fant ingen bruker {person_id} i katalogen.")
    target = safe_next(neste) or start_page_for(frozenset(person.roles))
    response = RedirectResponse(target, status_code=303)
    sessions.save(request, response, sessions.current_session(request).signed_in_as(person.id))
    return response


@router.post("/logg-ut", dependencies=[CsrfChecked])
async def sign_out(request: Request) -> Response:
    response = RedirectResponse("/logg-inn", status_code=303)
    sessions.clear(response)
    return response


def _callback_url(request: Request, settings: Settings) -> str:
    base = settings.public_base_url or str(request.base_url)
    return base.rstrip("/") + "/logg-inn/callback"


def _oidc(request: Request) -> oidc.OidcClient:
    client: oidc.OidcClient | None = getattr(request.app.state, "web_oidc", None)
    if client is None:
        raise Problem(404, "Not found", "no OpenID Connect issuer is configured")
    return client


@router.get("/logg-inn/oidc")
async def start_oidc(request: Request, settings: SettingsDep, neste: str = "") -> Response:
    """Send the browser to the issuer, remembering state, nonce and the PKCE verifier."""
    pending = oidc.PendingSignIn.new(safe_next(neste) or "/")
    try:
        target = await _oidc(request).authorization_url(pending, _callback_url(request, settings))
    except (oidc.SignInFailed, httpx.HTTPError) as error:
        log.warning("OIDC sign-in could not start: %s", error)
        return error_page(request, 503, "Identitetsleverandøren svarer ikke. Prøv igjen om litt.")
    response = RedirectResponse(target, status_code=303)
    session = sessions.current_session(request).with_oidc_state(pending.encode())
    sessions.save(request, response, session)
    return response


@router.get("/logg-inn/callback")
async def oidc_callback(
    request: Request, session: SessionDep, settings: SettingsDep,
    code: str = "", state: str = "", error: str = "",
) -> Response:  # fmt: skip
    pending = oidc.PendingSignIn.decode(sessions.current_session(request).oidc_state)
    if error or pending is None or not code or state != pending.state:
        return error_page(request, 400, "Innloggingen ble avbrutt eller er utløpt. Prøv igjen.")
    try:
        claims = await _oidc(request).redeem(code, pending, _callback_url(request, settings))
    except (oidc.SignInFailed, httpx.HTTPError) as failure:
        log.warning("OIDC sign-in refused: %s", failure)
        return error_page(request, 401, "Innloggingen kunne ikke bekreftes. Prøv igjen.")
    person = await people.person_signing_in(session, str(claims["sub"]), oidc.hpr_number_of(claims))
    if person is None:
        return error_page(request, 403, "Du er ikke registrert som bruker av overgang.")
    response = RedirectResponse(pending.next_path, status_code=303)
    sessions.save(request, response, sessions.current_session(request).signed_in_as(person.id))
    return response
