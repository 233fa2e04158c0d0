"""A refused request answers 403 with the reason, and the refusal is written to the audit log.

When the refusal concerns a patient's data, the row carries the patient (and transition), so
the refused attempt is in that patient's access log: from the Forbidden itself when the
refusing code named them, else from the path (a transition, a task or a patient id).
The request's transaction rolls back with the error, so the refusal gets a transaction of
its own.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.recorder import route_action
from api.auth.policy import Forbidden, PatientRef
from api.errors import is_connection_error, problem_response
from domain.actors import Actor
from store import audit
from store.audit import AuditEntry
from store.tables import TaskRow, Transition

log = logging.getLogger(__name__)
ID = re.compile(r"[0-9A-Za-z-]{1,36}")  # patient, transition and task ids are UUIDs


def _id(request: Request, name: str) -> str | None:
    """A path's id, if it can be one of ours (anything else names nothing to look up)."""
    value = request.path_params.get(name)
    return value if isinstance(value, str) and ID.fullmatch(value) else None


async def _from_path(session: AsyncSession, request: Request) -> list[PatientRef]:
    """The patient a refused path is about: its transition, its task's, or the patient."""
    if patient_id := _id(request, "patient_id"):
        return [(patient_id, None)]
    transition_id = _id(request, "transition_id")
    if transition_id is None and (task_id := _id(request, "task_id")):
        task = await session.get(TaskRow, task_id)
        transition_id = task.transition_id if task else None
    transition = await session.get(Transition, transition_id) if transition_id else None
    return [(transition.patient_id, transition.id)] if transition else [(None, None)]


def _entry(request: Request, reason: str, patient: PatientRef) -> AuditEntry:
    actor: Actor | None = getattr(request.state, "actor", None)
    return AuditEntry(
        actor_id=actor.person_id if actor else None,
        action=route_action(request),
        resource=request.url.path[:300],
        patient_id=patient[0],
        transition_id=patient[1],
        purpose="refused request",
        outcome="refused",
        reason=reason,
    )


async def _record_refusal(request: Request, error: Forbidden) -> None:
    async with request.app.state.db.transaction() as session:
        patients = error.patients or await _from_path(session, request)
        entries = [_entry(request, error.detail, patient) for patient in patients]
        await audit.append_many(session, entries)


async def on_forbidden(request: Request, error: Forbidden) -> JSONResponse:
    try:
        await _record_refusal(request, error)
    except Exception as failure:
        if not is_connection_error(failure):
            raise
        # The refusal stands even when the log is unreachable; the operator sees this line.
        log.error("could not audit a refusal (database unreachable): %r", failure)
    return problem_response(403, "Forbidden", error.detail, **error.extra)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Forbidden, on_forbidden)  # type: ignore[arg-type]
