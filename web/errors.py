"""Errors on the pages answered as pages in Norwegian; the API keeps its problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.errors import Problem
from web.identity import CsrfRefused, SignInRequired
from web.rendering import render

Handler = Callable[[Request, Exception], Awaitable[Response]]

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


def _for_pages(original: Handler) -> Handler:
    """The API's handler still runs (it may audit a refusal); pages get a page instead."""

    async def handle(request: Request, error: Exception) -> Response:
        answer = await original(request, error)
        if getattr(request.state, "web", False) and isinstance(error, Problem):
            return error_page(request, error.status, error.detail)
        return answer

    return handle


def install(app: FastAPI) -> None:
    """Call after the API installed its handlers: every Problem handler gets wrapped."""
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(CsrfRefused, _csrf)
    for kind, original in list(app.exception_handlers.items()):
        if isinstance(kind, type) and issubclass(kind, Problem):
            app.add_exception_handler(kind, _for_pages(original))
