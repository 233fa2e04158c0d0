"""Utskrivning fra DPS/TSB til kommunen: what a discharge coordinator starts, and its state.

When is the municipality "ready" (its offer is ready, so no more overliggedøgn run)?
The municipal intake has been accepted (accepted, in progress or completed) and, when a
housing handover was sent, that handover has completed (housing must be in place before
discharge). NAV, LAR, coordinator and meeting steps do not hold the patient in the ward.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.actors import Actor
from domain.calendar import OSLO, norwegian_date
from domain.tasks import Task, TaskKind, TaskStatus
from domain.transition import TransitionCore

ACCEPTED_INTAKE = frozenset({TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED})


class Needs(BaseModel, frozen=True):
    """What the patient needs from the municipality and others after discharge."""

    municipal_follow_up: bool = True
    housing: bool = False
    nav: bool = False
    lar: bool = False
    coordinator: bool = Field(
        default=False,
        description="Long-term coordinated services: koordinator og individuell plan.",
    )
    gp: bool = True


class Consents(BaseModel, frozen=True):
    """The patient's consent, per recipient. Health personnel share what care needs unless
    the patient objects; NAV and the housing office get health information only with consent."""

    share_with_municipal_health_service: bool = True
    share_with_housing_office: bool = False
    share_with_nav: bool = False
    electronic_messages: bool = True


class Relative(BaseModel, frozen=True):
    name: str = Field(min_length=1, max_length=200)
    relation: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=30)


class DischargeTiming(BaseModel, frozen=True):
    """The cooperation agreement's periods, frozen into the workflow when it starts."""

    follow_up_within: timedelta = Field(
        default=timedelta(days=7), description="First contact after discharge (national target)."
    )
    waiting_day: timedelta = Field(
        default=timedelta(days=1), description="One overliggedøgn; shorter only in tests."
    )
    housing_lead: timedelta = Field(
        default=timedelta(weeks=8), description="Start housing this long before discharge."
    )


class DischargeStart(BaseModel, frozen=True):
    """The workflow's input. The patient is named only by internal id: fødselsnummer and name
    stay in PostgreSQL, never in Temporal."""

    transition_id: str
    patient_id: str
    municipality_number: str
    origin_unit_id: str
    intake_unit_id: str
    coordinator_id: str
    expected_discharge_date: date
    what_matters: str = Field(description="Hva er viktig for deg? In the patient's own words.")
    needs: Needs = Field(default_factory=Needs)
    consents: Consents = Field(default_factory=Consents)
    relatives: tuple[Relative, ...] = ()
    serving_sentence: bool = False
    housing_unit_id: str | None = None
    nav_unit_id: str | None = None
    lar_unit_id: str | None = None
    timing: DischargeTiming = Field(default_factory=DischargeTiming)


class HandoverStatus(StrEnum):
    WAITING = "waiting"  # not yet started (housing starts housing_lead before discharge)
    RUNNING = "running"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class HandoverLink(BaseModel):
    """The parent's view of one child HandoverWorkflow."""

    kind: TaskKind
    workflow_id: str
    transition_id: str
    owner_unit_id: str
    status: HandoverStatus = HandoverStatus.WAITING

    @property
    def finished(self) -> bool:
        return self.status not in (HandoverStatus.WAITING, HandoverStatus.RUNNING)


class DischargeState(BaseModel):
    """All of a DischargeWorkflow's state, in one model continue-as-new can carry."""

    start: DischargeStart
    core: TransitionCore
    initialized: bool = False
    cancel_reason: str | None = None
    handovers: dict[str, HandoverLink] = Field(default_factory=dict)  # by TaskKind value
    waiting_days: int = 0
    municipality_ready_at: datetime | None = None
    date_version: int = 0
    follow_up_missed: bool = False

    @property
    def expected_date(self) -> date:
        return self.core.expected_discharge_date or self.start.expected_discharge_date


# --- commands of the discharge itself (one model per message) ---------------------------


class RecordMeeting(BaseModel, frozen=True):
    """Samarbeidsmøte / ansvarsgruppe held: when, and who took part."""

    actor: Actor
    held_on: date
    participants: tuple[str, ...] = Field(min_length=1, max_length=30)
    note: str | None = Field(default=None, max_length=4000)


class NameCoordinator(BaseModel, frozen=True):
    """The municipality names the patient's koordinator (and whether an IP is started:
    one IP per person, only if the person wants it)."""

    actor: Actor
    coordinator_name: str = Field(min_length=1, max_length=200)
    individual_plan: bool = False


class MarkReady(BaseModel, frozen=True):
    """Utskrivningsklar: the specialist service declares the patient ready for discharge."""

    actor: Actor


class MarkDischarged(BaseModel, frozen=True):
    actor: Actor
    planned: bool = Field(default=True, description="False when the patient left (unplanned).")


class ChangeDischargeDate(BaseModel, frozen=True):
    actor: Actor
    expected_discharge_date: date
    reason: str | None = Field(default=None, max_length=2000)


class RecordFirstContact(BaseModel, frozen=True):
    """The municipality's first contact with the patient after discharge."""

    actor: Actor
    contacted_on: date
    note: str | None = Field(default=None, max_length=4000)


# --- rules ---------------------------------------------------------------------------------


def start_of_day(day: date) -> datetime:
    """Midnight in Norway, in UTC: deadlines "before the discharge date" end here."""
    return datetime.combine(day, time(0), tzinfo=OSLO).astimezone(UTC)


def future_date_refusal(field: str, day: date, now: datetime) -> str | None:
    """Why a date something happened on is refused: it is after today in Norway (None: fine)."""
    today = norwegian_date(now)
    if day <= today:
        return None
    return f"{field} {day.isoformat()} is in the future (today is {today.isoformat()} in Norway)"


def handover_due(expected: date) -> datetime:
    """Housing and NAV must be in place before the patient leaves: by the discharge day."""
    return start_of_day(expected)


def handover_starts_at(kind: TaskKind, expected: date, timing: DischargeTiming) -> datetime:
    """Housing starts housing_lead before discharge (domain.md: 8 weeks); NAV at once."""
    if kind is TaskKind.HOUSING:
        return start_of_day(expected) - timing.housing_lead
    return datetime.min.replace(tzinfo=UTC)


def handovers_wanted(start: DischargeStart) -> tuple[list[TaskKind], list[TaskKind]]:
    """(to send, needed but not consented): NAV and the housing office get nothing without
    the patient's consent."""
    wanted = [
        (TaskKind.HOUSING, start.needs.housing, start.consents.share_with_housing_office),
        (TaskKind.NAV, start.needs.nav, start.consents.share_with_nav),
    ]
    send = [kind for kind, needed, consented in wanted if needed and consented]
    withheld = [kind for kind, needed, consented in wanted if needed and not consented]
    return send, withheld


def municipality_ready(state: DischargeState) -> bool:
    intake = [t for t in state.core.tasks.values() if t.kind is TaskKind.MUNICIPAL_INTAKE]
    if not any(t.status in ACCEPTED_INTAKE for t in intake):
        return False
    housing = state.handovers.get(TaskKind.HOUSING.value)
    return housing is None or housing.status is HandoverStatus.COMPLETED


def task_of_kind(tasks: dict[str, Task], kind: TaskKind) -> Task | None:
    """The newest open step of a kind (a forwarded step has a newer task)."""
    matching = [t for t in tasks.values() if t.kind is kind and t.is_open]
    return max(matching, key=lambda t: t.created_at, default=None)
