"""What every kind of transition has: its tasks, its timeline, and its read-model revision."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.actors import Actor
from domain.tasks import Task
from domain.timeline import EventKind, TimelineEvent


class TransitionKind(StrEnum):
    DISCHARGE = "discharge"
    HANDOVER = "handover"
    LAR_CHANGE = "lar_change"


class TransitionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TransitionCore(BaseModel):
    """The part of a workflow's state that the shared task machinery works on."""

    transition_id: str
    kind: TransitionKind
    municipality_number: str
    origin_unit_id: str
    status: TransitionStatus = TransitionStatus.ACTIVE
    tasks: dict[str, Task] = Field(default_factory=dict)
    next_seq: int = 1
    revision: int = 0
    pending_events: list[TimelineEvent] = Field(default_factory=list)
    dirty_task_ids: set[str] = Field(default_factory=set)
    expected_discharge_date: date | None = None
    ready_at: datetime | None = None
    discharged_at: datetime | None = None

    def record(
        self,
        at: datetime,
        kind: EventKind,
        *,
        task_id: str | None = None,
        actor_id: str | None = None,
        **detail: str,
    ) -> TimelineEvent:
        event = TimelineEvent(
            transition_id=self.transition_id,
            seq=self.next_seq,
            at=at,
            kind=kind,
            task_id=task_id,
            actor_id=actor_id,
            detail=detail,
        )
        self.next_seq += 1
        self.pending_events.append(event)
        return event

    def put_task(self, task: Task) -> Task:
        self.revision += 1
        task = task.model_copy(update={"revision": self.revision})
        self.tasks[task.id] = task
        self.dirty_task_ids.add(task.id)
        return task

    def open_tasks(self) -> list[Task]:
        return [task for task in self.tasks.values() if task.is_open]

    def max_escalation_level(self) -> int:
        return max((t.escalation.level for t in self.open_tasks()), default=0)


class CancelTransition(BaseModel, frozen=True):
    """Avmelding: the whole transition stops (patient died, moved, re-admitted)."""

    actor: Actor
    reason: str = Field(min_length=1, max_length=2000)


class TransitionSnapshot(BaseModel, frozen=True):
    id: str
    status: TransitionStatus
    revision: int
    updated_at: datetime
    expected_discharge_date: date | None = None
    ready_at: datetime | None = None
    discharged_at: datetime | None = None


class TransitionRecord(BaseModel, frozen=True):
    """The read-model row a workflow registers when it starts (no fødselsnummer here)."""

    id: str
    kind: TransitionKind
    workflow_id: str
    patient_id: str
    municipality_number: str
    origin_unit_id: str
    started_by: str
    what_matters: str
    started_at: datetime
    expected_discharge_date: date | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Projection(BaseModel, frozen=True):
    """One idempotent write to the read model: what changed since the last one."""

    transition: TransitionSnapshot
    tasks: list[Task]
    events: list[TimelineEvent]
