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
