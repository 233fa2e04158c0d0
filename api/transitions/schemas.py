from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from api.tasks.schemas import TaskPublic
from store.tables import EventRow


class EventPublic(BaseModel):
    seq: int
    at: datetime
    kind: str
    task_id: str | None = None
    actor_id: str | None = None
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: EventRow) -> EventPublic:
        return cls(
            seq=row.seq,
            at=row.at,
            kind=row.kind,
            task_id=row.task_id,
            actor_id=row.actor_id,
            detail=row.detail,
        )


class TransitionDetail(BaseModel):
    id: str
    kind: str
    status: str
    municipality_number: str
    origin_unit_id: str
    started_by: str
    started_at: datetime
    expected_discharge_date: date | None = None
    ready_at: datetime | None = None
    discharged_at: datetime | None = None
    what_matters: str
    tasks: list[TaskPublic]
    timeline: list[EventPublic]
