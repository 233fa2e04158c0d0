"""What a workflow asks the notification activities to send, and what they report back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.escalation import Channel, Recipient
from domain.tasks import TaskKind


class NotificationReason(StrEnum):
    NEW_TASK = "new_task"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    BOUNCED = "bounced"
    DATE_CHANGED = "date_changed"  # the expected discharge date moved


class NotificationRequest(BaseModel, frozen=True):
    """`key` is unique per (workflow, step, occasion): a retried send delivers nothing twice."""

    key: str
    transition_id: str
    task_id: str
    task_kind: TaskKind
    owner_unit_id: str
    origin_unit_id: str
    municipality_number: str
    reason: NotificationReason
    level: int
    recipients: tuple[Recipient, ...]
    channels: tuple[Channel, ...]


class Delivery(BaseModel, frozen=True):
    """One message that went out; on_behalf_of is the absent contact a substitute stands in for."""

    person_id: str | None
    unit_id: str | None
    channel: Channel
    sent_at: datetime | None = None
    on_behalf_of: str | None = None
    attempts: int = Field(default=1, description="Sends tried before it went out (1 = first).")


class DeliveryFailure(BaseModel, frozen=True):
    """A message that did not go out after the activity's attempts. The workflow puts it on the
    timeline ("e-post ikke levert") and falls back to the next channel the level has."""

    person_id: str | None
    unit_id: str | None
    channel: Channel
    error: str = Field(description="One line, no patient data: what the server or network said.")
    attempts: int = 1


class NotificationReceipt(BaseModel, frozen=True):
    deliveries: list[Delivery]
    # New in the receipt: older histories carry receipts without it, so it must default.
    failures: list[DeliveryFailure] = Field(default_factory=list)


class PolicyQuery(BaseModel, frozen=True):
    """Find the most specific policy: unit and kind, unit, municipality and kind, municipality."""

    municipality_number: str
    unit_id: str
    task_kind: TaskKind
