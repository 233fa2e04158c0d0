"""Signed cookie sessions for the web pages, and the CSRF token every form carries.

The cookie holds only the signed-in person's directory id, a CSRF token and an expiry,
signed with HMAC-SHA256 under ``settings.session_secret`` (in development a random key kept
under ``state_dir``). It is HTTP-only, SameSite=Lax, and Secure whenever the page came over
https, so scripts cannot read it and other sites cannot post with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from fastapi import Request, Response

from foundation.settings import Settings

COOKIE_NAME = "overgang_session"
LIFETIME_SECONDS = 10 * 3600  # one working shift


@dataclass(frozen=True)
class WebSession:
    """Who is signed in (None before sign-in) and the token forms must echo."""

    person_id: str | None = None
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    oidc_state: str | None = None
    expires_at: int = field(default_factory=lambda: int(time.time()) + LIFETIME_SECONDS)

    def signed_in_as(self, person_id: str) -> WebSession:
        """A fresh session (new CSRF token) so a token seen before sign-in is worthless after."""
        return WebSession(person_id=person_id)

    def with_oidc_state(self, state: str | None) -> WebSession:
        return replace(self, oidc_state=state)


def session_key(settings: Settings) -> bytes:
    """The signing key: configured, or created once under state_dir for development."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    path: Path = settings.state_dir.resolve() / "web-session-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


class SessionCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes) -> str:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def encode(self, session: WebSession) -> str:
        body = {
            "p": session.person_id,
            "c": session.csrf_token,
            "s": session.oidc_state,
            "e": session.expires_at,
        }
        payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
        return f"{payload}.{self._mac(payload.encode())}"

    def decode(self, value: str | None) -> WebSession | None:
        """The session, or None when the cookie is missing, forged or expired."""
        if not value or "." not in value:
            return None
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload.encode())):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if int(body.get("e", 0)) < time.time():
            return None
        return WebSession(
            person_id=body.get("p"),
            csrf_token=body["c"],
            oidc_state=body.get("s"),
            expires_at=int(body["e"]),
        )


def codec(request: Request) -> SessionCodec:
    return request.app.state.web_session_codec  # type: ignore[no-any-return]


def current_session(request: Request) -> WebSession:
    """The request's session; a new anonymous one (saved by `save`) if there is none."""
    cached = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    session = codec(request).decode(request.cookies.get(COOKIE_NAME)) or WebSession()
    request.state.web_session = session
    return session


def save(request: Request, response: Response, session: WebSession) -> None:
    response.set_cookie(
        COOKIE_NAME,
        codec(request).encode(session),
        max_age=LIFETIME_SECONDS,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/")


def csrf_valid(session: WebSession, submitted: object) -> bool:
    return isinstance(submitted, str) and hmac.compare_digest(
        submitted.encode(), session.csrf_token.encode()
    )
