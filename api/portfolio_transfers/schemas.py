"""A bulk portfolio transfer: a leaving therapist's open patients handed over at once."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.discharges.schemas import PatientIn
from domain.identifiers import Kommunenummer


class TransferredPatient(BaseModel):
    patient: PatientIn
    what_matters: str = Field(default="", max_length=4000)


class PortfolioTransferCreate(BaseModel):
    origin_unit_id: str = Field(min_length=1, max_length=64)
    municipality_number: Kommunenummer
    to_unit_id: str | None = Field(
        default=None, max_length=64, description="By default the municipality's receiving unit."
    )
    reason: str = Field(min_length=1, max_length=2000, description="E.g. 'behandler slutter'.")
    due_date: date | None = Field(default=None, description="Handovers due by this date.")
    patients: list[TransferredPatient] = Field(min_length=1, max_length=500)


class PortfolioTransferStarted(BaseModel):
    id: str
    total: int
    started: int = Field(description="Handovers this call started (0 on a retry).")
    already_running: int = Field(description="Handovers an earlier call with this key started.")
    transition_ids: list[str]


class HandoverProgress(BaseModel):
    transition_id: str
    status: str
    task_status: str | None = None
    owner_unit_id: str | None = None


class PortfolioTransferProgress(BaseModel):
    id: str
    total: int
    registered: int
    by_status: dict[str, int]
    by_task_status: dict[str, int]
    handovers: list[HandoverProgress]
