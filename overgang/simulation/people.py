"""Who acts for a unit at a given moment: its contact, or the substitute while the contact is
on holiday. The absences are written to the directory, so notices follow them too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.dialects.postgresql import insert

from domain.actors import Actor, Role
from domain.calendar import OSLO
from overgang.demo import MUNICIPAL_UNIT_KINDS, SPECIALIST_UNITS
from overgang.simulation.population import LAR_PHYSICIAN, LAR_UNIT, MUNICIPALITIES, case_rng
from store.absences import AbsenceRow
from store.database import Database
from store.tables import Membership, Person

ROLES_BY_UNIT_KIND = {
    "dps": frozenset({Role.DISCHARGE_COORDINATOR}),
    "tsb": frozenset({Role.DISCHARGE_COORDINATOR, Role.LAR_CONSULTANT}),
}


@dataclass(frozen=True)
class Absence:
    person_id: str
    starts_at: datetime
    ends_at: datetime
    substitute_id: str


def municipal_units() -> list[str]:
    return [
        f"{slug}-{suffix}"
        for _, slug, _, _ in MUNICIPALITIES
        for suffix, _, _ in MUNICIPAL_UNIT_KINDS
    ]


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=OSLO).astimezone(UTC)


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def holidays_for(seed: int, first_day: date, days: int) -> list[Absence]:
    """Three weeks of summer holiday and the week after Christmas for every municipal contact,
    with the unit's backup as substitute."""
    absences = []
    for unit in municipal_units():
        rng = case_rng(seed, "holiday", unit)
        for year in range(first_day.year, (first_day + timedelta(days=days)).year + 1):
            summer = _monday_on_or_after(date(year, 6, 22) + timedelta(weeks=rng.randrange(5)))
            for start, length in ((summer, 21), (date(year, 12, 27), 7)):
                absences.append(
                    Absence(
                        person_id=f"{unit}-kontakt",
                        starts_at=_local_midnight(start),
                        ends_at=_local_midnight(start + timedelta(days=length)),
                        substitute_id=f"{unit}-vara",
                    )
                )
    return absences


class People:
    """The actors of the demo directory, and their holidays."""

    def __init__(self, absences: list[Absence]) -> None:
        self.absences = absences
        self._kinds = {uid: kind for uid, _, kind, _ in SPECIALIST_UNITS}

    def away(self, person_id: str, at: datetime) -> Absence | None:
        for absence in self.absences:
            if absence.person_id == person_id and absence.starts_at <= at < absence.ends_at:
                return absence
        return None

    def contact(self, unit_id: str, at: datetime) -> Actor:
        """The person who answers for the unit at `at` (the substitute while away)."""
        person = f"{unit_id}-kontakt"
        absence = self.away(person, at)
        roles = ROLES_BY_UNIT_KIND.get(self._kinds.get(unit_id, ""), {Role.MUNICIPAL_CONTACT})
        return Actor(
            person_id=absence.substitute_id if absence else person,
            roles=frozenset(roles),
            unit_ids=frozenset({unit_id}),
        )

    def lar_physician(self) -> Actor:
        return Actor(
            person_id=LAR_PHYSICIAN,
            roles=frozenset({Role.LAR_PHYSICIAN}),
            unit_ids=frozenset({LAR_UNIT}),
        )

    async def write(self, db: Database) -> None:
        """Add the LAR physician and the holidays to the directory."""
        async with db.transaction() as session:
            physician = Person(id=LAR_PHYSICIAN, name="LAR-lege, Ahus", roles=["lar_physician"])
            await session.merge(physician)
            await session.flush()
            await session.merge(Membership(person_id=LAR_PHYSICIAN, unit_id=LAR_UNIT))
            rows = [
                {
                    "person_id": a.person_id,
                    "starts_at": a.starts_at,
                    "ends_at": a.ends_at,
                    "substitute_id": a.substitute_id,
                    "reason": "ferie",
                    "created_by": "simulation",
                    "created_at": a.starts_at - timedelta(days=30),
                }
                for a in self.absences
            ]
            await session.execute(insert(AbsenceRow).values(rows))
