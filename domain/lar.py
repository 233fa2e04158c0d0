"""Endring i LAR-behandlingen (a change in a patient's opioid substitution treatment).

Two phases (domain.md): the TSB doctor's decision with a reason; then the municipality's LAR
contact is consulted (acknowledge, then agree or object with a comment) before the change
takes effect. An objection stops the change (rule 10): nothing changes until a LAR physician
overrides with a reason, or the proposal is withdrawn or revised (a revision consults the
municipality again, with the new proposal and a new deadline). Without an answer, too, only
an override lets it take effect. After the effective date the dispensing site
(utleveringssted) confirms it is implemented. Default deadline: escalate if not acknowledged
one working day before the effective date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from domain.actors import Actor, Role
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


AGREED, OBJECTED, OVERRIDDEN, WITHDRAWN = "agreed", "objected", "overridden", "withdrawn"
TAKES_EFFECT = frozenset({AGREED, OVERRIDDEN})


class LarChangeState(BaseModel):
    """All of a LarPlanChangeWorkflow's state, in one model continue-as-new can carry."""

    start: LarChangeStart
    core: TransitionCore
    initialized: bool = False
    answer: str | None = None  # AGREED | OBJECTED | OVERRIDDEN | WITHDRAWN
    patient_view: str | None = None
    effective: bool = False
    answer_deadline_missed: bool = False
    cancel_reason: str | None = None
    # A revision replaces the proposal and its date; the start keeps the first one.
    proposal: LarProposal | None = None
    effective_date: date | None = None
    revisions: int = 0

    @property
    def current_proposal(self) -> LarProposal:
        return self.proposal or self.start.proposal

    @property
    def current_effective_date(self) -> date:
        return self.effective_date or self.start.effective_date


class AnswerConsultation(BaseModel, frozen=True):
    actor: Actor
    agree: bool
    comment: str = Field(min_length=1, max_length=4000)


class OverrideConsultation(BaseModel, frozen=True):
    """The LAR physician lets the change take effect without the municipality's answer."""

    actor: Actor
    reason: str = Field(min_length=1, max_length=2000)


class WithdrawProposal(BaseModel, frozen=True):
    """The LAR side gives the change up (after an objection, or before any answer)."""

    actor: Actor
    reason: str = Field(min_length=1, max_length=2000)


class ReviseProposal(BaseModel, frozen=True):
    """A new proposal and date: the municipality is consulted again, with a new deadline."""

    actor: Actor
    proposal: LarProposal
    effective_date: date


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


def proposer_refusal(actor: Actor, origin_unit_id: str) -> str | None:
    """Why `actor` may not withdraw or revise a proposal of `origin_unit_id` (None: may)."""
    if not (actor.has_role(Role.LAR_CONSULTANT) or actor.has_role(Role.LAR_PHYSICIAN)):
        return "only a LAR consultant or physician withdraws or revises a LAR change"
    if not actor.acts_for(origin_unit_id):
        return f"only unit {origin_unit_id}, which proposed the change, withdraws or revises it"
    return None


def consultation(tasks: dict[str, Task]) -> Task | None:
    found = [t for t in tasks.values() if t.kind is TaskKind.LAR_CONSULTATION]
    return max(found, key=lambda t: t.created_at, default=None)
