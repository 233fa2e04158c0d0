from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from api.tasks.schemas import TaskPublic
from domain.discharge import future_date_refusal
from store.tables import EventRow


class EventPublic(BaseModel):
    seq: int
    at: datetime
    kind: str
    transition_id: str | None = Field(
        default=None, description="Set on events of a child handover shown under its parent."
    )
    task_id: str | None = None
    actor_id: str | None = None
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: EventRow, *, with_detail: bool = True) -> EventPublic:
        """Without detail for recipients who may not see health details (data minimisation)."""
        return cls(
            seq=row.seq,
            at=row.at,
            kind=row.kind,
            transition_id=row.transition_id,
            task_id=row.task_id,
            actor_id=row.actor_id,
            detail=row.detail if with_detail else {},
        )


class ChildTransition(BaseModel):
    id: str
    kind: str
    status: str
    handover_kind: str | None = None


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
    what_matters: str | None = Field(
        description="Hva er viktig for deg; null for NAV or housing offices without consent."
    )
    waiting_days: int = Field(default=0, description="Overliggedøgn recorded so far.")
    children: list[ChildTransition] = Field(default_factory=list)
    tasks: list[TaskPublic]
    timeline: list[EventPublic]


# --- commands on a transition ---------------------------------------------------------------


def _happened(field: str) -> AfterValidator:
    """A date something happened on: not after today in Norway (422 naming the field)."""

    def check(day: date) -> date:
        refusal = future_date_refusal(field, day, datetime.now(UTC))
        if refusal is not None:
            raise ValueError(refusal)
        return day

    return AfterValidator(check)


class MeetingBody(BaseModel):
    held_on: Annotated[date, _happened("held_on")]
    participants: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=30, description="Who took part (names and roles)."
    )
    note: str | None = Field(default=None, max_length=4000)


class CoordinatorBody(BaseModel):
    coordinator_name: str = Field(min_length=1, max_length=200)
    individual_plan: bool = Field(default=False, description="Only if the patient wants one.")


class DischargedBody(BaseModel):
    planned: bool = Field(default=True, description="False when the patient left unplanned.")


class FirstContactBody(BaseModel):
    contacted_on: Annotated[date, _happened("contacted_on")]
    note: str | None = Field(default=None, max_length=4000)


class DischargeDateBody(BaseModel):
    expected_discharge_date: date
    reason: str | None = Field(default=None, max_length=2000)


class CancelBody(BaseModel):
    reason: str = Field(
        min_length=1, max_length=2000, description="E.g. patient died, moved, re-admitted."
    )


class TransitionState(BaseModel):
    """What a command on a transition answers: its status and steps as the workflow has them."""

    id: str
    status: str
    tasks: list[TaskPublic]
