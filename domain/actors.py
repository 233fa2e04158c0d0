"""Who is acting: a person from the directory, with the units they act for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Role(StrEnum):
    DISCHARGE_COORDINATOR = "discharge_coordinator"  # utskrivningskoordinator på DPS/TSB
    LAR_CONSULTANT = "lar_consultant"
    LAR_PHYSICIAN = "lar_physician"
    MUNICIPAL_CONTACT = "municipal_contact"
    LEADER = "leader"
    ADMINISTRATOR = "administrator"


class Actor(BaseModel, frozen=True):
    """A person acting through the API; the unit ids include units they substitute for."""

    person_id: str
    roles: frozenset[Role] = Field(default_factory=frozenset)
    unit_ids: frozenset[str] = Field(default_factory=frozenset)

    def acts_for(self, unit_id: str) -> bool:
        return unit_id in self.unit_ids

    def has_role(self, role: Role) -> bool:
        return role in self.roles
