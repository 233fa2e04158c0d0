"""What leaders and administrators see: stalled transitions, events, access logs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, Field

from store.audit import AuditRow


class StallReason(StrEnum):
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    BOUNCED = "bounced"
    WAITING_AFTER_READY = "waiting_after_ready"
    NO_PROGRESS = "no_progress"


class StalledTransition(BaseModel):
    """A transition that needs a leader's attention, and why. No names: internal ids only."""

    transition_id: str
    patient_id: str
    kind: str
    municipality_number: str
    origin_unit_id: str
    started_at: datetime
    expected_discharge_date: date | None = None
    reasons: list[StallReason]
    open_tasks: int
    overdue_tasks: int
    max_escalation_level: int
    bounces: int
    days_since_ready: int | None = Field(
        default=None,
        description="Overliggedøgn so far (as on the transition), while ready and not discharged.",
    )
    last_progress_at: datetime


class FeedEvent(BaseModel):
    transition_id: str
    seq: int
    at: datetime
    kind: str
    task_id: str | None = None
    actor_id: str | None = None
    municipality_number: str
    origin_unit_id: str
    detail: dict[str, Any]


class EventPage(BaseModel):
    items: list[FeedEvent]
    next_cursor: str | None = None


class AccessLogEntry(BaseModel):
    """One row of a patient's access log (helsenorge's "Tilgangslogg"): a read, a command or
    a refused attempt. `purpose` is the reader's relation (care, consent, oversight,
    emergency); `reason` the stated reason of an emergency access, or why a refusal was."""

    at: datetime
    actor_id: str | None
    action: str
    purpose: str
    outcome: str
    transition_id: str | None = None
    reason: str | None = None

    @classmethod
    def from_row(cls, row: AuditRow) -> Self:
        return cls.model_validate(row, from_attributes=True)


class AuditLogEntry(AccessLogEntry):
    id: int
    resource: str | None = None
    patient_id: str | None = None
    hash: str
