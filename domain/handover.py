"""Overføring til en kommunal enhet (housing office, NAV office, any unit) as a child or
stand-alone workflow: request -> acknowledged -> accepted/rejected -> in progress -> completed.

A recipient may reject and forward to another unit with a reason; every bounce is kept on
the step. A handover that has bounced `bounce_limit` times (default twice) is
skyveproblematikk: it escalates to the leaders of every unit involved.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.discharge import HandoverStatus
from domain.tasks import Task, TaskKind, TaskStatus
from domain.transition import TransitionCore


class HandoverStart(BaseModel, frozen=True):
    """No personal data: the patient by internal id; the purpose names needs, not diagnoses."""

    transition_id: str
    kind: TaskKind
    patient_id: str
    municipality_number: str
    origin_unit_id: str
    owner_unit_id: str
    started_by: str
    what_matters: str
    purpose: str = Field(default="", max_length=2000)
    due_at: datetime | None = None
    parent_transition_id: str | None = None
    parent_workflow_id: str | None = None
    batch_id: str | None = None
    batch_size: int | None = None
    bounce_limit: int = Field(default=2, ge=1)
    consents: dict[str, bool] = Field(
        default_factory=dict, description="The parent's consents, for who may read details."
    )


class HandoverState(BaseModel):
    """All of a HandoverWorkflow's state, in one model continue-as-new can carry."""

    start: HandoverStart
    core: TransitionCore
    initialized: bool = False
    bounce_escalated: bool = False
    cancel_reason: str | None = None
    parent_told: bool = False


class HandoverResult(BaseModel, frozen=True):
    """What the child tells its parent when it ends (a signal, so continue-as-new is safe)."""

    kind: TaskKind
    workflow_id: str
    transition_id: str
    status: HandoverStatus
    owner_unit_id: str
    reason: str | None = None


class CancelFromParent(BaseModel, frozen=True):
    reason: str


class MoveDeadline(BaseModel, frozen=True):
    due_at: datetime


def outcome(tasks: list[Task], cancelled: bool) -> HandoverStatus:
    """The newest step decides: completed, rejected (not forwarded) or cancelled."""
    if cancelled:
        return HandoverStatus.CANCELLED
    last = max(tasks, key=lambda t: t.created_at)
    if last.status is TaskStatus.COMPLETED:
        return HandoverStatus.COMPLETED
    if last.status is TaskStatus.REJECTED:
        return HandoverStatus.REJECTED
    return HandoverStatus.CANCELLED


def units_involved(task: Task) -> list[str]:
    """Every unit the step has bounced between, the current owner last."""
    seen: list[str] = []
    for unit in [*task.bounces, task.owner_unit_id]:
        if unit not in seen:
            seen.append(unit)
    return seen


def needs_bounce_escalation(task: Task, limit: int, already: bool) -> bool:
    return not already and len(task.bounces) >= limit
