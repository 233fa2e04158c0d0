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
    """A transition as the caller may read it (domain.access): a field their relations give
    no part for is null. `relations` and `parts` say which they have."""

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
    relations: list[str] = Field(description="care, consent, oversight, emergency")
    parts: list[str] = Field(description="The parts of the transition the caller receives.")
    handover_kind: str | None = None
    parent_transition_id: str | None = Field(
        default=None, description="The parent discharge, when the caller may read it."
    )
    patient_name: str | None = Field(default=None, description="With the identity part.")
    what_matters: str | None = Field(
        default=None, description="Hva er viktig for deg: the patient's voice (care only)."
    )
    needs: dict[str, bool] | None = Field(
        default=None, description="All needs under care; the non-clinical ones under consent."
    )
    purpose: str | None = Field(default=None, description="A handover's purpose.")
    contact_person_id: str | None = Field(
        default=None, description="Who to contact at the origin unit (needs and contacts)."
    )
    consents: dict[str, bool] | None = Field(default=None, description="Clinical part.")
    relatives: list[dict[str, Any]] | None = Field(default=None, description="Clinical part.")
    serving_sentence: bool | None = Field(default=None, description="Clinical part.")
    lar_change: dict[str, Any] | None = Field(
        default=None, description="A LAR change's proposal and dates (clinical part)."
    )
    waiting_days: int = Field(default=0, description="Overliggedøgn recorded so far.")
    children: list[ChildTransition] | None = Field(
        default=None, description="The child handovers (family part)."
    )
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
