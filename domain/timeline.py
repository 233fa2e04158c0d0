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
    REMINDERS_SKIPPED = "reminders_skipped"  # fell due while nothing could run (an outage)
    NOTIFIED = "notified"
    NOTIFICATION_FAILED = "notification_failed"  # not delivered on a channel ("e-post ikke levert")
    DISCHARGE_DATE_CHANGED = "discharge_date_changed"
    READY_FOR_DISCHARGE = "ready_for_discharge"  # utskrivningsklar
    WAITING_DAY = "waiting_day"  # overliggedøgn
    DISCHARGED = "discharged"
    MEETING_RECORDED = "meeting_recorded"
    COORDINATOR_NAMED = "coordinator_named"  # koordinator named; individual plan or not
    FOLLOW_UP_RECORDED = "follow_up_recorded"
    OVERRIDE = "override"  # the LAR physician overrides a missing answer or an objection
    HANDOVER_SCHEDULED = "handover_scheduled"  # housing starts housing_lead before discharge
    HANDOVER_STARTED = "handover_started"
    HANDOVER_FINISHED = "handover_finished"
    HANDOVER_NOT_SENT = "handover_not_sent"  # needed, but the patient has not consented
    BOUNCE_ESCALATED = "bounce_escalated"  # skyveproblematikk: bounced twice, leaders told
    MUNICIPALITY_READY = "municipality_ready"  # the municipality's offer is ready
    FOLLOW_UP_MISSED = "follow_up_missed"  # no first contact within the follow-up window
    LAR_ANSWERED = "lar_answered"  # the municipality agrees or objects
    PATIENT_VIEW_RECORDED = "patient_view_recorded"
    LAR_CHANGE_EFFECTIVE = "lar_change_effective"
    ANSWER_DEADLINE_MISSED = "answer_deadline_missed"
    LAR_WITHDRAWN = "lar_withdrawn"  # the proposal is withdrawn: the change never takes effect
    LAR_REVISED = "lar_revised"  # a new proposal: the municipality is consulted again


class TimelineEvent(BaseModel, frozen=True):
    """One entry; (transition_id, seq) is unique, so writing it twice stores it once."""

    transition_id: str
    seq: int
    at: datetime
    kind: EventKind
    task_id: str | None = None
    actor_id: str | None = None
    detail: dict[str, str] = Field(default_factory=dict)
