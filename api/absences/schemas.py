"""Absences (ferie, sykefravær) with a substitute, as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from store.absences import AbsenceRow


class AbsenceCreate(BaseModel):
    person_id: str | None = Field(default=None, description="Yourself if absent.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    substitute_id: str
    reason: str | None = Field(default=None, max_length=200)

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is not None and ends_at <= starts_at:
            raise ValueError("must be after starts_at")
        return ends_at


class AbsencePublic(BaseModel):
    id: int
    person_id: str
    starts_at: datetime
    ends_at: datetime
    substitute_id: str
    reason: str | None
    created_by: str | None

    @classmethod
    def from_row(cls, row: AbsenceRow) -> AbsencePublic:
        return cls.model_validate(row, from_attributes=True)
