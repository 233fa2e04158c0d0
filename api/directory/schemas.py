"""Units and people as the API shows and takes them (secrets never leave the server).

Writes come in two shapes. PUT replaces the whole thing, so every field must be present
(null clears an optional one): a body that leaves a field out is refused rather than read as
"clear it". PATCH (JSON merge patch) changes only the fields it names. Both refuse fields
they do not know, naming them, instead of dropping them silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from domain.access import SECTOR_OF_KIND
from domain.actors import Role
from domain.identifiers import Kommunenummer
from store.tables import Membership, Person, Unit

Email = Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
HerId = Annotated[str, Field(max_length=20, pattern=r"^[0-9]+$")]
HprNumber = Annotated[str, Field(pattern=r"^[0-9]{1,9}$")]
WebhookUrl = Annotated[
    str,
    Field(
        max_length=500,
        pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="Where signed deliveries go (http or https).",
    ),
]
WebhookSecret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=200,
        description="Signs every delivery (HMAC); write-only: never returned.",
    ),
]
NOT_NULL = "may not be null; leave the field out to keep its value"


def _known_kind(kind: str) -> str:
    """Only kinds the access model places in a sector (an unknown kind reads nothing)."""
    if kind not in SECTOR_OF_KIND:
        raise ValueError(f"unknown unit kind {kind!r}; one of {', '.join(sorted(SECTOR_OF_KIND))}")
    return kind


Kind = Annotated[
    str,
    Field(min_length=1, max_length=40, description="e.g. dps, tsb, psykisk_helse_rus, nav_office"),
    AfterValidator(_known_kind),
]
STRICT = ConfigDict(extra="forbid")


class UnitWrite(BaseModel):
    """PUT: the whole unit; optional fields are sent as null, never left out."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Psykisk helse og rus",
                    "kind": "psykisk_helse_rus",
                    "municipality_number": "3101",
                    "her_id": "8123456",
                    "leader_id": "halden-prt-leder",
                    "email": "prt@halden.kommune.no",
                }
            ]
        },
    )

    name: Name
    kind: Kind
    municipality_number: Kommunenummer | None
    her_id: HerId | None
    leader_id: Id | None
    email: Email | None


class UnitPatch(BaseModel):
    """PATCH: only the fields given change; a new webhook_secret is a rotation, and
    webhook_url null removes the webhook (and its secret)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "prt@halden.kommune.no"},
                {"webhook_url": "https://epj.halden.kommune.no/overgang", "webhook_secret": "…"},
            ]
        },
    )

    name: Name | None = None
    kind: Kind | None = None
    municipality_number: Kommunenummer | None = None
    her_id: HerId | None = None
    leader_id: Id | None = None
    email: Email | None = None
    webhook_url: WebhookUrl | None = None
    webhook_secret: WebhookSecret | None = None

    @field_validator("name", "kind", "webhook_secret")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError(NOT_NULL)
        return value


class UnitPublic(BaseModel):
    id: str
    name: str
    kind: str
    municipality_number: str | None
    her_id: str | None
    leader_id: str | None
    email: str | None
    webhook_configured: bool = Field(description="A webhook URL and its secret are set.")
    webhook_rotated_at: datetime | None = Field(description="When its secret was last set.")
    webhook_url: str | None = Field(
        default=None, description="Shown to administrators only (it may carry a token)."
    )

    @classmethod
    def from_row(cls, row: Unit, *, administrator: bool = False) -> UnitPublic:
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            municipality_number=row.municipality_number,
            her_id=row.her_id,
            leader_id=row.leader_id,
            email=row.email,
            webhook_configured=bool(row.webhook_url and row.webhook_secret),
            webhook_rotated_at=row.webhook_rotated_at,
            webhook_url=row.webhook_url if administrator else None,
        )


class MembershipIn(BaseModel):
    model_config = STRICT

    unit_id: Id
    is_backup: bool = False


class PersonWrite(BaseModel):
    """PUT: the whole person; optional fields are sent as null, never left out."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Kari Kontakt",
                    "email": "kari@halden.kommune.no",
                    "hpr_number": None,
                    "roles": ["municipal_contact"],
                    "units": [{"unit_id": "halden-prt", "is_backup": False}],
                }
            ]
        },
    )

    name: Name
    email: Email | None
    hpr_number: HprNumber | None
    roles: list[Role] = Field(max_length=6)
    units: list[MembershipIn] = Field(max_length=50)


class PersonPatch(BaseModel):
    """PATCH: only the fields given change; units, when given, replace the memberships."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "kari@halden.kommune.no"}]}
    )

    name: Name | None = None
    email: Email | None = None
    hpr_number: HprNumber | None = None
    roles: list[Role] | None = Field(default=None, max_length=6)
    units: list[MembershipIn] | None = Field(default=None, max_length=50)

    @field_validator("name", "roles", "units")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(NOT_NULL)
        return value


class PersonPublic(BaseModel):
    id: str
    name: str
    email: str | None
    hpr_number: str | None
    roles: list[Role]
    units: list[MembershipIn]

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
