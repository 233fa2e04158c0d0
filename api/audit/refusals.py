"""A refused request answers 403 with the reason, and the refusal is written to the audit log.

The request's transaction rolls back with the error, so the refusal gets a transaction of
its own.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.audit.recorder import route_action
from api.auth.policy import Forbidden
from api.errors import is_connection_error, problem_response
from domain.actors import Actor
from store import audit
from store.audit import AuditEntry

log = logging.getLogger(__name__)


async def _record_refusal(request: Request, reason: str) -> None:
    actor: Actor | None = getattr(request.state, "actor", None)
    entry = AuditEntry(
        actor_id=actor.person_id if actor else None,
        action=route_action(request),
        resource=request.url.path[:300],
        purpose="refused request",
        outcome="refused",
        reason=reason,
    )
    async with request.app.state.db.transaction() as session:
        await audit.append(session, entry)


async def on_forbidden(request: Request, error: Forbidden) -> JSONResponse:
    try:
        await _record_refusal(request, error.detail)
    except Exception as failure:
        if not is_connection_error(failure):
            raise
        # The refusal stands even when the log is unreachable; the operator sees this line.
        log.error("could not audit a refusal (database unreachable): %r", failure)
    return problem_response(403, "Forbidden", error.detail, **error.extra)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Forbidden, on_forbidden)  # type: ignore[arg-type]
