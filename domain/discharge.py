"""Utskrivning fra DPS/TSB til kommunen: what a discharge coordinator starts, and its state."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from domain.transition import TransitionCore


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


class DischargeState(BaseModel):
    """All of a DischargeWorkflow's state, in one model continue-as-new can carry."""

    start: DischargeStart
    core: TransitionCore
    initialized: bool = False
    cancel_reason: str | None = None
