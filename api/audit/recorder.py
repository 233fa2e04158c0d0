"""Writing the audit log from the API: one call per command or read of patient data.

`record` queues the row on the request's session; api.deps.db_session appends the queue
just before it commits, so the rows and the effect commit together (or not at all) and the
append lock is held only for the commit, not while a route waits for Temporal. A row
without an action gets the route's ("POST /api/v1/tasks/{task_id}/acknowledge"), and a
successful command that recorded nothing gets a row anyway (see _command_entry).
Refusals are written by api.audit.refusals in a transaction of their own, because the
request's transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from domain.actors import Actor
from store import audit
from store.audit import AuditEntry
from store.tables import TaskRow, Transition

if TYPE_CHECKING:
    from api.auth.access import Access

PENDING = "overgang.audit.pending"
# The reason for access a person may state (Normen: the log carries why); it is added to
# the purpose the policy derived (care, leader oversight, administration).
PURPOSE_HEADER = "x-access-purpose"


def route_action(request: Request) -> str:
    path = getattr(request.scope.get("route"), "path", request.url.path)
    return f"{request.method} {path}"[:120]


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str = "",
    *,
    patient_id: str | None = None,
    transition_id: str | None = None,
    purpose: str = "care",
    resource: str | None = None,
    reason: str | None = None,
) -> None:
    """Audit one command or read, e.g. record(session, actor, patient_id=..., transition_id=...).
    `reason` is the stated reason of an emergency access the read relies on."""
    entry = AuditEntry(
        actor_id=actor.person_id,
        action=action,
        resource=resource,
        patient_id=patient_id,
        transition_id=transition_id,
        purpose=purpose,
        reason=reason,
    )
    session.info.setdefault(PENDING, []).append(entry)


async def record_reads(
    session: AsyncSession,
    actor: Actor,
    action: str,
    reads: Iterable[tuple[str | None, str | None]],
    *,
    purpose: str = "care",
) -> None:
    """Audit a list that showed several patients: one row per (patient id, transition id)."""
    rows = ((patient, transition, purpose) for patient, transition in dict.fromkeys(reads))
    await _record_rows(session, actor, action, rows)


async def record_accesses(
    session: AsyncSession, actor: Actor, action: str, found: Iterable[Access]
) -> None:
    """Audit a list's rows, each with the purpose its reader's relations give it."""
    rows = ((*access.read_ref, access.purpose) for access in found)
    await _record_rows(session, actor, action, rows)


async def _record_rows(
    session: AsyncSession,
    actor: Actor,
    action: str,
    rows: Iterable[tuple[str | None, str | None, str]],
) -> None:
    for patient_id, transition_id, purpose in rows:
        await record(
            session,
            actor,
            action,
            patient_id=patient_id,
            transition_id=transition_id,
            purpose=purpose,
        )


async def _command_entry(session: AsyncSession, request: Request) -> AuditEntry | None:
    """A command no route recorded still gets a row: every successful write is audited,
    with the transition and patient found from the path (transition_id or task_id)."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    params = request.path_params
    transition_id = params.get("transition_id")
    if transition_id is None and "task_id" in params:
        task = await session.get(TaskRow, params["task_id"])
        transition_id = task.transition_id if task else None
    transition = await session.get(Transition, transition_id) if transition_id else None
    return AuditEntry(
        actor_id=actor.person_id,
        action="",
        patient_id=transition.patient_id if transition else None,
        transition_id=transition.id if transition else None,
    )


async def flush(session: AsyncSession, request: Request) -> None:
    """Append the request's queued rows in its transaction (called right before commit)."""
    pending: list[AuditEntry] = session.info.pop(PENDING, [])
    if not pending:
        entry = await _command_entry(session, request)
        pending = [entry] if entry else []
    if not pending:
        return
    action = route_action(request)
    resource = request.url.path[:300]
    stated = request.headers.get(PURPOSE_HEADER, "").strip()
    entries = [
        e.model_copy(
            update={
                "action": e.action or action,
                "resource": e.resource or resource,
                "purpose": f"{e.purpose}: {stated}"[:120] if stated else e.purpose,
            }
        )
        for e in pending
    ]
    await audit.append_many(session, entries)
