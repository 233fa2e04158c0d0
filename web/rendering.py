"""Jinja2 templates and the one way pages are rendered (which also keeps the session fresh)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from web import sessions
from web.formatting import install_filters

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Pages carry patient data: not cached, not framed, no script or style from elsewhere
# (Designsystemet's icons are data: URIs in its CSS).
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
install_filters(templates.env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render a page with the session's CSRF token and the signed-in person available."""
    session = sessions.current_session(request)
    full = {
        "csrf_token": session.csrf_token,
        "me": getattr(request.state, "web_person", None),
        "my_roles": getattr(request.state, "web_roles", frozenset()),
        "now_utc": datetime.now(UTC),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, full, status_code=status)
    sessions.save(request, response, session)
    response.headers.update(SECURITY_HEADERS)
    return response
