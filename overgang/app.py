"""The composition root of the HTTP side: the API and the pages, side by side in one app."""

from __future__ import annotations

from fastapi import FastAPI

import web
from api.app import attach, create_api
from foundation.settings import Settings

__all__ = ["attach", "create_app"]


def create_app(
    settings: Settings, *, database_url: str, temporal_address: str | None = None
) -> FastAPI:
    """The API with the pages for people mounted after its routers and error handlers."""
    app = create_api(settings, database_url=database_url, temporal_address=temporal_address)
    web.mount(app)
    return app
