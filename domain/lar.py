"""Endring i LAR-behandlingen (a change in a patient's opioid substitution treatment).

Two phases (domain.md): the TSB doctor's decision with a reason; then the municipality's LAR
contact is consulted (acknowledge, then agree or object with a comment) before the change
takes effect. Without an answer, only an explicit override by a LAR physician with a reason
lets it take effect. After the effective date the dispensing site (utleveringssted) confirms
it is implemented. Default deadline: escalate if not acknowledged one working day before
the effective date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from domain.actors import Actor
from domain.calendar import BusinessCalendar, OfficeHours
from domain.discharge import start_of_day
from domain.tasks import Task, TaskKind
from domain.transition import TransitionCore


class LarProposal(BaseModel, frozen=True):
    dose: str = Field(min_length=1, max_length=200, description="e.g. 'metadon 90 mg'")
    dispensing_site: str = Field(min_length=1, max_length=200, description="utleveringssted")
    pick_up_regime: str = Field(min_length=1, max_length=200, description="e.g. 'daglig'")
    take_home_doses: int = Field(ge=0, le=28)
    reason: str = Field(min_length=1, max_length=2000, description="The doctor's reason.")


class LarChangeStart(BaseModel, frozen=True):
    transition_id: str
    patient_id: str
    municipality_number: str
    origin_unit_id: str  # the TSB/LAR unit
    lar_contact_unit_id: str
    dispensing_unit_id: str
    proposed_by: str
    proposal: LarProposal
    effective_date: date
    what_matters: str = ""
    answer_hours: OfficeHours = Field(default_factory=OfficeHours)


class LarChangeState(BaseModel):
    """All of a LarPlanChangeWorkflow's state, in one model continue-as-new can carry."""

    start: LarChangeStart
    core: TransitionCore
    initialized: bool = False
    answer: str | None = None  # "agreed" | "objected" | "overridden"
    patient_view: str | None = None
    effective: bool = False
    answer_deadline_missed: bool = False
    cancel_reason: str | None = None


class AnswerConsultation(BaseModel, frozen=True):
    actor: Actor
    agree: bool
    comment: str = Field(min_length=1, max_length=4000)


class OverrideConsultation(BaseModel, frozen=True):
    """The LAR physician lets the change take effect without the municipality's answer."""

    actor: Actor
    reason: str = Field(min_length=1, max_length=2000)


class RecordPatientView(BaseModel, frozen=True):
    actor: Actor
    view: str = Field(min_length=1, max_length=4000)


def answer_deadline(effective: date, hours: OfficeHours) -> datetime:
    """The start of the last working day before the effective date (default rule)."""
    calendar = BusinessCalendar(hours)
    if calendar.is_business_day(effective):
        return start_of_day(calendar.add_business_days(effective, -1))
    day = effective - timedelta(days=1)
    while not calendar.is_business_day(day):
        day -= timedelta(days=1)
    return start_of_day(day)


def consultation(tasks: dict[str, Task]) -> Task | None:
    found = [t for t in tasks.values() if t.kind is TaskKind.LAR_CONSULTATION]
    return max(found, key=lambda t: t.created_at, default=None)
