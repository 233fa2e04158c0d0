"""The HTTP API as a FastAPI application, built by a factory from settings, never at import
time. The pages (web/) are mounted beside it by the composition root, overgang.app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import codec, errors, health, metrics, request_context
from api.absences.routes import router as absences_router
from api.audit import refusals
from api.audit.routes import router as audit_router
from api.auth.tokens import TokenVerifier
from api.caught_mail.routes import router as caught_mail_router
from api.directory.routes import router as directory_router
from api.discharges.routes import router as discharges_router
from api.emergency.routes import router as emergency_router
from api.fhir.routes import router as fhir_router
from api.lar_changes.routes import router as lar_changes_router
from api.notifications.routes import router as notifications_router
from api.policies.routes import router as policies_router
from api.portfolio_transfers.routes import router as portfolio_transfers_router
from api.tasks.routes import router as tasks_router
from api.transitions.routes import router as transitions_router
from foundation.observability import adopt_uvicorn_loggers
from foundation.settings import Settings
from foundation.temporal_client import connect
from store.database import Database


def create_api(
    settings: Settings, *, database_url: str, temporal_address: str | None = None
) -> FastAPI:
    """An app that opens its database pool and Temporal client when it starts serving."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        adopt_uvicorn_loggers()
        owns_db = not hasattr(app.state, "db")
        if owns_db:
            app.state.db = Database(database_url)
        if not hasattr(app.state, "temporal"):
            app.state.temporal = await connect(settings, temporal_address)
        yield
        if owns_db:
            await app.state.db.dispose()

    app = FastAPI(
        title="overgang",
        version="0.1.0",
        description="Care transitions between DPS/TSB and the municipality, as durable workflows.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    errors.install(app)
    for router in (health.router, discharges_router, tasks_router, transitions_router):
        app.include_router(router)
    for router in (policies_router, absences_router, notifications_router):
        app.include_router(router)
    for router in (audit_router, directory_router, fhir_router):
        app.include_router(router)
    for router in (lar_changes_router, portfolio_transfers_router, emergency_router):
        app.include_router(router)
    app.include_router(caught_mail_router)
    codec.install(app, settings)
    refusals.install(app)
    metrics.install(app)
    request_context.install(app)
    return app


def attach(app: FastAPI, db: Database, temporal: Client) -> None:
    """Give an app already-open connections (tests and `overgang up` share theirs)."""
    app.state.db = db
    app.state.temporal = temporal
