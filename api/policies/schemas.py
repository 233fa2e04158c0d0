"""Escalation policies as the API shows and takes them; levels are the domain's own model."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.escalation import EscalationLevel
from domain.tasks import TaskKind
from store.tables import EscalationPolicyRow

POLICY_ID = r"^[a-z0-9][a-z0-9-]{2,63}$"


class PolicyCreate(BaseModel):
    """A new policy for a municipality, optionally narrowed to one unit and/or task kind."""

    id: str | None = Field(default=None, pattern=POLICY_ID, description="Generated if absent.")
    name: str = Field(min_length=1, max_length=200)
    municipality_number: str = Field(pattern=r"^\d{4}$")
    unit_id: str | None = None
    task_kind: TaskKind | None = None
    levels: list[EscalationLevel] = Field(min_length=1)


class PolicyUpdate(BaseModel):
    """A new version: running steps keep the version they started with."""

    name: str = Field(min_length=1, max_length=200)
    levels: list[EscalationLevel] = Field(min_length=1)


class LevelPublic(EscalationLevel):
    """A level as the API returns it: waits in seconds, since fractions of a second (test
    policies) have no RFC 3339 duration. Bodies may send seconds or ISO 8601 durations."""

    model_config = ConfigDict(ser_json_timedelta="float")


class PolicyVersion(BaseModel):
    id: str
    version: int
    name: str
    municipality_number: str | None
    unit_id: str | None
    task_kind: str | None
    levels: list[LevelPublic]
    created_at: datetime
    created_by: str | None

    @classmethod
    def from_row(cls, row: EscalationPolicyRow) -> PolicyVersion:
        return cls(
            id=row.id,
            version=row.version,
            name=row.name,
            municipality_number=row.municipality_number,
            unit_id=row.unit_id,
            task_kind=row.task_kind,
            levels=[LevelPublic.model_validate(level) for level in row.levels],
            created_at=row.created_at,
            created_by=row.created_by,
        )


class PolicySummary(PolicyVersion):
    """The newest version, and which versions exist."""

    versions: list[int]


class PolicyDetail(PolicyVersion):
    """The newest version, and every version as it was (oldest first)."""

    history: list[PolicyVersion]
