"""Liveness and readiness: the only routes besides metrics that need no token."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.errors import problem_response

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, str]:
    """Ready when PostgreSQL answers a query and Temporal answers a health check."""
    failures = []
    try:
        async with request.app.state.db.engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("select 1")), timeout=3)
    except Exception as error:  # any failure means "not ready", whatever its type
        log.warning("readiness: PostgreSQL failed: %r", error)
        failures.append("PostgreSQL")
    try:
        await asyncio.wait_for(request.app.state.temporal.service_client.check_health(), timeout=3)
    except Exception as error:
        log.warning("readiness: Temporal failed: %r", error)
        failures.append("Temporal")
    if failures:
        return problem_response(
            503, "Not ready", f"not reachable: {', '.join(failures)}", headers={"Retry-After": "5"}
        )
    return {"status": "ready"}
