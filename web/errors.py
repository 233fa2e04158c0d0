"""Errors on the pages answered as pages in Norwegian; the API keeps its problem+json."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.errors import Problem
from web.access_view import Refused
from web.identity import CsrfRefused, SignInRequired
from web.rendering import render

Handler = Callable[[Request, Exception], Awaitable[Response]]
# What Starlette keeps: a handler may be plain or async.
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]

TITLES = {
    400: "Noe var galt med forespørselen",
    401: "Du må logge inn",
    403: "Ingen tilgang",
    404: "Fant ikke siden",
    409: "Handlingen ble avvist",
    422: "Noe er feil i skjemaet",
    503: "Tjenesten er midlertidig utilgjengelig",
}

EXPLANATIONS = {
    403: "Du har ikke tilgang til denne siden. Oppgaver vises bare for kontaktpersoner i "
    "enheten som eier dem, og overganger bare for dem som er involvert.",
    404: "Siden eller oppgaven finnes ikke. Den kan være slettet, eller lenken kan være feil.",
    503: "En del av systemet svarer ikke akkurat nå. Ingenting ble endret. Prøv igjen om litt.",
}


def error_page(request: Request, status: int, detail: str) -> Response:
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Noe gikk galt"),
            "explanation": EXPLANATIONS.get(status, ""),
            "detail": detail,
        },
        status=status,
    )


async def _sign_in(request: Request, error: Exception) -> Response:
    target = quote(request.url.path, safe="/")
    return RedirectResponse(f"/logg-inn?neste={target}", status_code=303)


async def _csrf(request: Request, error: Exception) -> Response:
    return error_page(
        request, 400, "Skjemaet var utløpt eller kom ikke fra denne siden. Last siden på nytt."
    )


def refused_page(request: Request, refused: Refused, status: int = 403) -> Response:
    """Why the reader may not see this, in bokmål, revealing no more than the API's 403 (that
    the transition exists); a health worker is offered emergency access."""
    context = {"refused": refused, "title": TITLES[403], "status": status}
    return render(request, "refused.html", context, status=status)


def _for_pages(original: AnyHandler) -> Handler:
    """The API's handler still runs (it audits a refusal); pages get a page instead: the
    page's own refusal (request.state.refused) for a 403, else the error page."""

    async def handle(request: Request, error: Exception) -> Response:
        answer = original(request, error)
        if inspect.isawaitable(answer):
            answer = await answer
        if not (getattr(request.state, "web", False) and isinstance(error, Problem)):
            return answer
        refused: Refused | None = getattr(request.state, "refused", None)
        if refused is not None and error.status == 403:
            return refused_page(request, refused)
        return error_page(request, error.status, error.detail)

    return handle


def install(app: FastAPI) -> None:
    """Call after the API installed its handlers: every Problem handler gets wrapped."""
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(CsrfRefused, _csrf)
    for kind, original in list(app.exception_handlers.items()):
        if isinstance(kind, type) and issubclass(kind, Problem):
            app.add_exception_handler(kind, _for_pages(original))
