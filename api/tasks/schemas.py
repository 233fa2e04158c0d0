"""Tasks as the API shows them, and the bodies of people's commands."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from domain.tasks import OPEN_STATUSES, Task, TaskKind, TaskStatus
from store.tables import TaskRow


class TaskPublic(BaseModel):
    id: str
    transition_id: str
    kind: TaskKind
    owner_unit_id: str
    status: TaskStatus
    business_status: str | None = None
    created_at: datetime
    due_at: datetime
    overdue: bool
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    assigned_to: str | None = None
    escalation_level: int
    next_escalation_at: datetime | None = None
    bounce_count: int = 0
    reason: str | None = None
    note: str | None = None

    @classmethod
    def from_task(cls, task: Task) -> TaskPublic:
        return cls(
            **task.model_dump(
                include={
                    "id",
                    "transition_id",
                    "kind",
                    "owner_unit_id",
                    "status",
                    "business_status",
                    "created_at",
                    "due_at",
                    "acknowledged_at",
                    "acknowledged_by",
                    "assigned_to",
                    "reason",
                    "note",
                }
            ),
            overdue=task.is_overdue(datetime.now(UTC)),
            escalation_level=task.escalation.level,
            next_escalation_at=task.escalation.next_at,
            bounce_count=len(task.bounces),
        )

    @classmethod
    def from_row(cls, row: TaskRow) -> TaskPublic:
        status = TaskStatus(row.status)
        return cls(
            id=row.id,
            transition_id=row.transition_id,
            kind=TaskKind(row.kind),
            owner_unit_id=row.owner_unit_id,
            status=status,
            business_status=row.business_status,
            created_at=row.created_at,
            due_at=row.due_at,
            overdue=status in OPEN_STATUSES and row.due_at < datetime.now(UTC),
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            assigned_to=row.assigned_to,
            escalation_level=row.escalation_level,
            next_escalation_at=row.next_escalation_at,
            bounce_count=row.bounce_count,
            reason=row.reason,
            note=row.note,
        )


class InboxItem(BaseModel):
    """A task with what the owner needs first: what matters to the patient."""

    task: TaskPublic
    patient_name: str | None = Field(description="With the identity part (domain.access).")
    what_matters: str | None = Field(
        description="Hva er viktig for deg: with the voice part only (care, not consent)."
    )
    municipality_number: str
    origin_unit_id: str


class RejectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the unit cannot take it.")
    forward_to_unit_id: str | None = Field(default=None, description="Send it on to this unit.")


class CompleteBody(BaseModel):
    note: str | None = Field(default=None, max_length=4000)


class AssignBody(BaseModel):
    assignee_id: str = Field(min_length=1, max_length=64)
