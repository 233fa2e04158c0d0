"""What a LAR consultant sends to propose a change, and the municipality's answers."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.discharges.schemas import PatientIn
from domain.identifiers import Kommunenummer
from domain.lar import LarProposal


class LarChangeCreate(BaseModel):
    patient: PatientIn
    municipality_number: Kommunenummer
    origin_unit_id: str = Field(min_length=1, max_length=64, description="The TSB/LAR unit.")
    dispensing_unit_id: str = Field(
        min_length=1, max_length=64, description="The utleveringssted (pharmacy or service)."
    )
    lar_contact_unit_id: str | None = Field(
        default=None,
        max_length=64,
        description="The municipality's LAR contact; by default from the directory.",
    )
    proposal: LarProposal
    effective_date: date
    what_matters: str = Field(default="", max_length=4000)


class AnswerBody(BaseModel):
    agree: bool
    comment: str = Field(min_length=1, max_length=4000)


class OverrideBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class WithdrawBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ReviseBody(BaseModel):
    proposal: LarProposal
    effective_date: date


class PatientViewBody(BaseModel):
    view: str = Field(min_length=1, max_length=4000)
