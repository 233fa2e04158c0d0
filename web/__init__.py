"""Server-rendered pages for coordinators, municipal contacts and leaders, in bokmål,
styled with Digdir's Designsystemet, served by the API's FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the pages, their assets and their error pages to the app (call after the API's
    routers and error handlers are installed)."""
    from web import assets, errors, oidc, sessions
    from web.routes import (
        absences,
        caught_mail,
        contact,
        coordinator,
        leader,
        notifications,
        signin,
        transitions,
    )

    app.state.web_session_codec = sessions.SessionCodec(sessions.session_key(app.state.settings))
    if app.state.settings.oidc_issuer:
        app.state.web_oidc = oidc.OidcClient(app.state.settings)
    assets.mount_assets(app)
    for module in (signin, coordinator, contact, transitions, leader, absences, notifications):
        app.include_router(module.router)
    app.include_router(caught_mail.router)
    errors.install(app)
