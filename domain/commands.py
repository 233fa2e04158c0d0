"""People's commands on tasks, as they reach a workflow's Updates (one model per message)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.actors import Actor


class TaskCommand(BaseModel, frozen=True):
    task_id: str
    actor: Actor


class AcknowledgeTask(TaskCommand):
    """Kvittere for mottak."""


class AcceptTask(TaskCommand):
    pass


class RejectTask(TaskCommand):
    reason: str = Field(min_length=1, max_length=2000)
    forward_to_unit_id: str | None = None


class StartTask(TaskCommand):
    pass


class CompleteTask(TaskCommand):
    note: str | None = Field(default=None, max_length=4000)


class AssignTask(TaskCommand):
    assignee_id: str
