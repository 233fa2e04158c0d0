"""A step of a transition (a task with an owner unit and a deadline) and its state machine.

Statuses are FHIR R4 Task statuses, so the FHIR facade maps them one to one. Commands are
pure functions: they return the next task or raise :class:`CommandRefused` with a reason a
person can act on. Workflows run them in Update validators, so a refused command never
reaches the history.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.actors import Actor
from domain.escalation import EscalationPolicy, EscalationState


class TaskKind(StrEnum):
    MUNICIPAL_INTAKE = "municipal_intake"  # kommunens mottak: kvittere, ta imot eller avvise
    COOPERATION_MEETING = "cooperation_meeting"  # samarbeidsmøte / ansvarsgruppe
    COORDINATOR = "coordinator"  # koordinator og individuell plan
    HOUSING = "housing"  # boligkontoret
    NAV = "nav"  # NAV-kontoret
    LAR_INFORMED = "lar_informed"  # kommunens LAR-kontakt informert
    FOLLOW_UP = "follow_up"  # første kontakt etter utskrivning (7 dager)
    LAR_CONSULTATION = "lar_consultation"  # kommunen konsultert om LAR-endring
    LAR_IMPLEMENTATION = "lar_implementation"  # utleveringsstedet bekrefter endringen
    HANDOVER = "handover"  # overføring til en kommunal enhet (e.g. a portfolio transfer)


class TaskStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"  # kvittert (acknowledged)
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        TaskStatus.REQUESTED,
        TaskStatus.RECEIVED,
        TaskStatus.ACCEPTED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.ON_HOLD,
    }
)


class CommandRefused(Exception):
    """A person's command that the task's state or the person's role does not allow."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Task(BaseModel):
    """One step with an owner unit, a deadline and its own escalation."""

    id: str
    transition_id: str
    kind: TaskKind
    owner_unit_id: str
    status: TaskStatus = TaskStatus.REQUESTED
    business_status: str | None = None
    created_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    assigned_to: str | None = None
    completed_at: datetime | None = None
    reason: str | None = None
    note: str | None = None
    policy: EscalationPolicy
    escalation: EscalationState
    revision: int = 0
    bounces: list[str] = Field(default_factory=list)
    # When the step was flagged overdue: once per step, and carried across continue-as-new.
    overdue_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def is_overdue(self, now: datetime) -> bool:
        """Open with its deadline come: a deadline is the instant by which, so at it, it has
        passed (the moment the overdue flag is raised)."""
        return self.is_open and now >= self.due_at


def _require_owner(task: Task, actor: Actor) -> None:
    if not actor.acts_for(task.owner_unit_id):
        raise CommandRefused(
            f"{actor.person_id} is not a contact of unit {task.owner_unit_id}, which owns this task"
        )


def _require_status(task: Task, allowed: set[TaskStatus], command: str) -> None:
    if task.status not in allowed:
        raise CommandRefused(f"cannot {command} a task that is {task.status.value}")


def acknowledge(task: Task, actor: Actor, at: datetime) -> Task:
    """Kvittere: the owner unit confirms it has received the task; stops escalation."""
    _require_owner(task, actor)
    if task.is_acknowledged:
        when = f"{task.acknowledged_at:%Y-%m-%d %H:%M} UTC"
        raise CommandRefused(f"task was already acknowledged by {task.acknowledged_by} at {when}")
    _require_status(task, {TaskStatus.REQUESTED}, "acknowledge")
    return task.model_copy(
        update={
            "status": TaskStatus.RECEIVED,
            "acknowledged_at": at,
            "acknowledged_by": actor.person_id,
            "escalation": task.escalation.stopped(),
        }
    )


def _acknowledged_now(task: Task, actor: Actor, at: datetime) -> dict[str, object]:
    """Accepting or rejecting implies acknowledgement if it had not been given."""
    if task.is_acknowledged:
        return {}
    return {
        "acknowledged_at": at,
        "acknowledged_by": actor.person_id,
        "escalation": task.escalation.stopped(),
    }


def accept(task: Task, actor: Actor, at: datetime) -> Task:
    _require_owner(task, actor)
    _require_status(task, {TaskStatus.REQUESTED, TaskStatus.RECEIVED}, "accept")
    return task.model_copy(
        update={"status": TaskStatus.ACCEPTED, **_acknowledged_now(task, actor, at)}
    )


def reject(task: Task, actor: Actor, at: datetime, reason: str) -> Task:
    _require_owner(task, actor)
    _require_status(task, {TaskStatus.REQUESTED, TaskStatus.RECEIVED}, "reject")
    if not reason.strip():
        raise CommandRefused("a rejection needs a reason")
    return task.model_copy(
        update={
            "status": TaskStatus.REJECTED,
            "reason": reason.strip(),
            "completed_at": at,
            **_acknowledged_now(task, actor, at),
        }
    )


def start_work(task: Task, actor: Actor, at: datetime) -> Task:
    _require_owner(task, actor)
    _require_status(task, {TaskStatus.ACCEPTED}, "start work on")
    return task.model_copy(update={"status": TaskStatus.IN_PROGRESS})


def complete(task: Task, actor: Actor, at: datetime, note: str | None) -> Task:
    _require_owner(task, actor)
    _require_status(task, {TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS}, "complete")
    return task.model_copy(
        update={"status": TaskStatus.COMPLETED, "completed_at": at, "note": note}
    )


def assign(task: Task, actor: Actor, assignee: str) -> Task:
    _require_owner(task, actor)
    if not task.is_open:
        raise CommandRefused(f"cannot assign a task that is {task.status.value}")
    return task.model_copy(update={"assigned_to": assignee})


def cancel(task: Task, at: datetime, reason: str) -> Task:
    """Cancelled by the transition (patient died, moved, re-admitted), not by the owner."""
    if not task.is_open:
        return task
    return task.model_copy(
        update={
            "status": TaskStatus.CANCELLED,
            "reason": reason,
            "completed_at": at,
            "escalation": task.escalation.stopped(),
        }
    )


def close_by_owner(task: Task, actor: Actor, at: datetime, business_status: str, note: str) -> Task:
    """Complete a step whose one action closes it (a meeting held, an answer, a contact made):
    the owner's record implies acknowledgement, so it works from any open status."""
    _require_owner(task, actor)
    if not task.is_open:
        raise CommandRefused(f"cannot record this on a task that is {task.status.value}")
    return task.model_copy(
        update={
            "status": TaskStatus.COMPLETED,
            "business_status": business_status,
            "completed_at": at,
            "note": note,
            **_acknowledged_now(task, actor, at),
        }
    )


def flag_overdue(task: Task, now: datetime) -> Task | None:
    """The step flagged overdue, if its deadline has come and it was never flagged before."""
    if task.overdue_at is not None or not task.is_overdue(now):
        return None
    return task.model_copy(update={"overdue_at": now})


def move_deadline(task: Task, due_at: datetime) -> Task:
    """A new deadline for an open step (the discharge date moved)."""
    return task.model_copy(update={"due_at": due_at})


def escalate_to(task: Task, level: int, at: datetime) -> Task:
    """Raise a step to `level` of its policy outside the acknowledgement chain (a double bounce,
    a missed follow-up); pending reminders of the chain go on as they were."""
    level = min(level, len(task.policy.levels) - 1)
    if task.escalation.level >= level:
        return task
    state = task.escalation.model_copy(update={"level": level, "level_started_at": at})
    return task.model_copy(update={"escalation": state})
