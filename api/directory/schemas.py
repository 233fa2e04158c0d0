"""Units and people as the API shows and takes them (secrets never leave the server)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from domain.actors import Role
from domain.identifiers import Kommunenummer
from store.tables import Membership, Person, Unit

Email = Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class UnitWrite(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Psykisk helse og rus",
                    "kind": "psykisk_helse_rus",
                    "municipality_number": "3101",
                    "her_id": "8123456",
                    "email": "prt@halden.kommune.no",
                }
            ]
        }
    }

    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40,
            description="e.g. dps, tsb, psykisk_helse_rus, nav_office, housing_office",
        ),
    ]
    municipality_number: Kommunenummer | None = None
    her_id: Annotated[str | None, Field(max_length=20, pattern=r"^[0-9]+$")] = None
    leader_id: Id | None = None
    email: Email | None = None


class UnitPublic(UnitWrite):
    id: str

    @classmethod
    def from_row(cls, row: Unit) -> UnitPublic:
        return cls.model_validate(row, from_attributes=True)


class MembershipIn(BaseModel):
    unit_id: Id
    is_backup: bool = False


class PersonWrite(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Kari Kontakt",
                    "email": "kari@halden.kommune.no",
                    "roles": ["municipal_contact"],
                    "units": [{"unit_id": "halden-prt", "is_backup": False}],
                }
            ]
        }
    }

    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Email | None = None
    hpr_number: Annotated[str | None, Field(pattern=r"^[0-9]{1,9}$")] = None
    roles: list[Role] = Field(default_factory=list, max_length=6)
    units: list[MembershipIn] = Field(default_factory=list, max_length=50)


class PersonPublic(PersonWrite):
    id: str

    @classmethod
    def from_row(cls, row: Person, memberships: list[Membership]) -> PersonPublic:
        return cls(
            id=row.id,
            name=row.name,
            email=row.email,
            hpr_number=row.hpr_number,
            roles=[Role(r) for r in row.roles if r in Role.__members__.values()],
            units=[MembershipIn(unit_id=m.unit_id, is_backup=m.is_backup) for m in memberships],
        )
