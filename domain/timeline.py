"""Events in a transition's timeline: every step, notification, escalation and command."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class EventKind(StrEnum):
    TRANSITION_STARTED = "transition_started"
    TRANSITION_COMPLETED = "transition_completed"
    TRANSITION_CANCELLED = "transition_cancelled"
    TASK_CREATED = "task_created"
    TASK_ACKNOWLEDGED = "task_acknowledged"
    TASK_ACCEPTED = "task_accepted"
    TASK_REJECTED = "task_rejected"
    TASK_FORWARDED = "task_forwarded"
    TASK_STARTED = "task_started"
    TASK_COMPLETED = "task_completed"
    TASK_ASSIGNED = "task_assigned"
    TASK_CANCELLED = "task_cancelled"
    TASK_OVERDUE = "task_overdue"
    ESCALATED = "escalated"
    REMINDED = "reminded"
    NOTIFIED = "notified"
    DISCHARGE_DATE_CHANGED = "discharge_date_changed"
    READY_FOR_DISCHARGE = "ready_for_discharge"  # utskrivningsklar
    WAITING_DAY = "waiting_day"  # overliggedøgn
    DISCHARGED = "discharged"
    MEETING_RECORDED = "meeting_recorded"
    FOLLOW_UP_RECORDED = "follow_up_recorded"
    OVERRIDE = "override"


class TimelineEvent(BaseModel, frozen=True):
    """One entry; (transition_id, seq) is unique, so writing it twice stores it once."""

    transition_id: str
    seq: int
    at: datetime
    kind: EventKind
    task_id: str | None = None
    actor_id: str | None = None
    detail: dict[str, str] = Field(default_factory=dict)
