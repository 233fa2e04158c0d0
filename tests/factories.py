"""Test data made per test: a fresh municipality with units, people and a policy, valid
fødselsnummer generated with their check digits, and tokens from the development issuer."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from api.auth.tokens import DevelopmentIssuer
from domain.escalation import Channel, EscalationLevel, Recipient
from foundation.settings import Settings
from store.database import Database
from store.tables import EscalationPolicyRow, Membership, Municipality, Person, Unit

COUNTIES = ["31", "32", "33", "34", "39", "40", "42", "46", "50", "55", "56", "11", "15", "18"]
_numbers = itertools.count(random.randrange(0, 50))


def next_kommunenummer() -> str:
    n = next(_numbers)
    return f"{COUNTIES[(n // 99) % len(COUNTIES)]}{n % 99 + 1:02d}"


def _check_digits(base9: str) -> str:
    w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2]
    w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    k1 = (11 - sum(int(d) * w for d, w in zip(base9, w1, strict=True)) % 11) % 11
    if k1 == 10:
        return ""
    k2 = (11 - sum(int(d) * w for d, w in zip(base9 + str(k1), w2, strict=True)) % 11) % 11
    if k2 == 10:
        return ""
    return f"{k1}{k2}"


# Not the module `random`: Hypothesis seeds that one per example, so its numbers repeat and a
# second discharge would meet the first's patient (409, "a discharge under way").
_PATIENTS = random.SystemRandom()


def make_fodselsnummer(born: date | None = None) -> str:
    """A valid fødselsnummer for someone born on `born` (random if not given)."""
    born = born or date(1960, 1, 1) + timedelta(days=_PATIENTS.randrange(0, 365 * 40))
    while True:
        individual = _PATIENTS.randrange(0, 500)  # 1900-1999 births use 000-499
        base = f"{born:%d%m%y}{individual:03d}"
        digits = _check_digits(base)
        if digits:
            return base + digits


def fast_levels(
    seconds: float = 2, levels: int = 3, repeat: float | None = None
) -> list[dict[str, Any]]:
    """Wall-clock waits of seconds that fire around the clock, for tests."""
    recipients = [
        (Recipient.OWNER_UNIT,),
        (Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER),
        (Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER),
    ]
    return [
        EscalationLevel(
            wait=timedelta(seconds=seconds),
            business_time=False,
            reach_on_call_now=True,
            notify=recipients[i % len(recipients)],
            channels=(Channel.IN_APP,),
            repeat_every=timedelta(seconds=repeat) if repeat else None,
        ).model_dump(mode="json")
        for i in range(levels)
    ]


@dataclass
class Identity:
    """The people of one test's municipality, by role."""

    coordinator: str
    contact: str
    backup: str
    unit_leader: str
    municipal_leader: str
    origin_leader: str
    outsider: str


class DirectoryFactory:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.issuer = DevelopmentIssuer(settings)
        self.number = next_kommunenummer()
        self.slug = f"t{self.number}-{random.randrange(10**6):06d}"
        s = self.slug
        self.dps = f"{s}-dps"
        self.intake = f"{s}-prt"
        self.housing = f"{s}-bolig"
        self.nav = f"{s}-nav"
        self.other_unit = f"{s}-hjemmetjeneste"
        self.identity = Identity(
            coordinator=f"{s}-koordinator",
            contact=f"{s}-kontakt",
            backup=f"{s}-vara",
            unit_leader=f"{s}-leder",
            municipal_leader=f"{s}-kommunalsjef",
            origin_leader=f"{s}-dps-leder",
            outsider=f"{s}-utenforstaaende",
        )

    def _units(self) -> list[Unit]:
        leader = self.identity.unit_leader
        return [
            Unit(
                id=self.dps,
                name="Test DPS",
                kind="dps",
                municipality_number=self.number,
                leader_id=self.identity.origin_leader,
                hours={},
            ),
            Unit(
                id=self.intake,
                name="Psykisk helse og rus",
                kind="psykisk_helse_rus",
                municipality_number=self.number,
                leader_id=leader,
                hours={},
            ),
            Unit(
                id=self.housing,
                name="Boligkontoret",
                kind="housing_office",
                municipality_number=self.number,
                leader_id=leader,
                hours={},
            ),
            Unit(
                id=self.nav,
                name="NAV",
                kind="nav_office",
                municipality_number=self.number,
                leader_id=leader,
                hours={},
            ),
            Unit(
                id=self.other_unit,
                name="Hjemmetjenesten",
                kind="home_care",
                municipality_number=self.number,
                leader_id=leader,
                hours={},
            ),
        ]

    def _people(self) -> list[Person]:
        i = self.identity
        return [
            Person(id=i.coordinator, name="Kim Koordinator", roles=["discharge_coordinator"]),
            Person(
                id=i.contact,
                name="Kari Kontakt",
                email=f"{i.contact}@example.no",
                roles=["municipal_contact"],
            ),
            Person(id=i.backup, name="Vera Vara", roles=["municipal_contact"]),
            Person(id=i.unit_leader, name="Lars Leder", roles=["leader"]),
            Person(id=i.municipal_leader, name="Kommunalsjef", roles=["leader"]),
            Person(id=i.origin_leader, name="DPS-leder", roles=["leader"]),
            Person(id=i.outsider, name="Ola Utenfor", roles=["municipal_contact"]),
        ]

    def _memberships(self) -> list[Membership]:
        i = self.identity
        return [
            Membership(person_id=i.coordinator, unit_id=self.dps),
            Membership(person_id=i.origin_leader, unit_id=self.dps, is_backup=True),
            Membership(person_id=i.contact, unit_id=self.intake),
            Membership(person_id=i.backup, unit_id=self.intake, is_backup=True),
            Membership(person_id=i.outsider, unit_id=self.other_unit),
        ]

    async def create(self, levels: list[dict[str, Any]] | None = None) -> None:
        groups: list[list[Any]] = [
            [
                Municipality(
                    number=self.number,
                    name=f"Testkommune {self.number}",
                    leader_id=self.identity.municipal_leader,
                )
            ],
            self._people(),
            self._units(),
            self._memberships(),
        ]
        async with self.db.transaction() as session:
            for group in groups:
                for row in group:
                    await session.merge(row)
                await session.flush()
        await self.set_policy(levels if levels is not None else fast_levels(seconds=3600))

    async def set_policy(self, levels: list[dict[str, Any]], version: int = 1) -> None:
        async with self.db.transaction() as session:
            session.add(
                EscalationPolicyRow(
                    id=f"{self.slug}-policy",
                    version=version,
                    name="Testpolicy",
                    municipality_number=self.number,
                    levels=levels,
                    created_at=datetime.now(UTC),
                )
            )

    async def add_person(self, name: str, roles: list[str], unit_id: str) -> str:
        """Another person of this test's directory (e.g. a LAR physician, a NAV contact)."""
        person_id = f"{self.slug}-{name}"
        async with self.db.transaction() as session:
            await session.merge(Person(id=person_id, name=name, roles=roles))
            await session.flush()
            await session.merge(Membership(person_id=person_id, unit_id=unit_id))
        return person_id

    def headers(self, person_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.mint(person_id)}"}

    def discharge_body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Per Pasient"},
            "what_matters": "Å ha et sted å bo og noen å ringe når det blir tungt.",
            "municipality_number": self.number,
            "origin_unit_id": self.dps,
            "expected_discharge_date": (date.today() + timedelta(days=14)).isoformat(),
        }
        body.update(overrides)
        return body


async def start_discharge(
    http: httpx.AsyncClient, directory: DirectoryFactory, **overrides: Any
) -> dict[str, Any]:
    """Start a discharge through the API as the test's coordinator; the 201 answer's body."""
    response = await http.post(
        "/api/v1/discharges",
        json=directory.discharge_body(**overrides),
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def transition_detail(
    http: httpx.AsyncClient, directory: DirectoryFactory, transition_id: str
) -> dict[str, Any]:
    """The transition (steps and timeline) as the test's coordinator reads it in the API."""
    response = await http.get(
        f"/api/v1/transitions/{transition_id}",
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
