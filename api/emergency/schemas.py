"""Emergency access (blålys): what a health worker states to open a transition, and a grant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, StringConstraints

from store.emergency import EmergencyGrantRow

# Stripped before the length check: a reason of only spaces states nothing, so it is missing.
StatedReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]


class EmergencyAccessCreate(BaseModel):
    reason: StatedReason = Field(
        description="Why you must read this patient's transition now (logged, followed up).",
    )
    purpose: str | None = Field(
        default=None, max_length=200, description="E.g. 'legevakt', 'akutt innleggelse'."
    )


class FollowUpBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000, description="The leader's finding.")


class EmergencyGrantPublic(BaseModel):
    """One emergency access: who opened which transition, why, until when; followed up?"""

    id: int
    person_id: str
    transition_id: str
    reason: str
    purpose: str | None = None
    granted_at: datetime
    expires_at: datetime
    followed_up_at: datetime | None = None
    followed_up_by: str | None = None
    follow_up_note: str | None = None

    @classmethod
    def from_row(cls, row: EmergencyGrantRow) -> Self:
        return cls.model_validate(row, from_attributes=True)
