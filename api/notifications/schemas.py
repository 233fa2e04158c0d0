from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from store.tables import NotificationRow


class NotificationPublic(BaseModel):
    """An in-app notification: which task, why, at which escalation level; read or not."""

    id: int
    transition_id: str
    task_id: str | None
    reason: str
    level: int
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_row(cls, row: NotificationRow) -> NotificationPublic:
        return cls.model_validate(row, from_attributes=True)


class DeliveryFailurePublic(BaseModel):
    """A notification that did not go out: to whom, on which channel, why, tried how often."""

    id: int
    channel: str
    person_id: str | None
    unit_id: str | None
    transition_id: str
    task_id: str | None
    reason: str
    level: int
    attempts: int
    error: str | None
    failed_at: datetime

    @classmethod
    def from_row(cls, row: NotificationRow) -> DeliveryFailurePublic:
        return cls.model_validate(row, from_attributes=True)


class DeliveryFailurePage(BaseModel):
    items: list[DeliveryFailurePublic]
    next_cursor: str | None = None
