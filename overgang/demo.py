"""A realistic directory for trying overgang: municipalities from the seed documents, their
psykisk helse og rus services, housing and NAV offices, DPS/TSB units, people and policies.

Loading it twice changes nothing (every row is merged by its id).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.escalation import Channel, EscalationLevel, Recipient
from store.database import Database
from store.tables import EscalationPolicyRow, Membership, Municipality, Person, Unit

MUNICIPALITIES = [
    ("3101", "Halden"),
    ("3122", "Marker"),
    ("3201", "Bærum"),
    ("3222", "Lørenskog"),
    ("0301", "Oslo (Bydel Gamle Oslo)"),
]

SPECIALIST_UNITS = [
    ("dps-halden", "Sykehuset Østfold, DPS Halden", "dps", "3101"),
    ("dps-baerum", "Vestre Viken, Bærum DPS", "dps", "3201"),
    ("tsb-ahus", "Ahus, avdeling for rusbehandling (TSB)", "tsb", "3222"),
    ("dps-lovisenberg", "Lovisenberg DPS", "dps", "0301"),
]

MUNICIPAL_UNIT_KINDS = [
    ("prt", "psykisk_helse_rus", "Psykisk helse og rus"),
    ("bolig", "housing_office", "Boligkontoret"),
    ("nav", "nav_office", "NAV"),
]

_SLUGS = {
    "3101": "halden",
    "3122": "marker",
    "3201": "baerum",
    "3222": "lorenskog",
    "0301": "gamle-oslo",
}


def _municipal_units() -> list[Unit]:
    units = []
    for number, name in MUNICIPALITIES:
        slug = _SLUGS[number]
        for suffix, kind, label in MUNICIPAL_UNIT_KINDS:
            units.append(
                Unit(
                    id=f"{slug}-{suffix}",
                    name=f"{label} {name}",
                    kind=kind,
                    municipality_number=number,
                    leader_id=f"{slug}-{suffix}-leder",
                    email=f"{slug}-{suffix}@kommune.example",
                    hours={},
                )
            )
    return units


def _specialist_units() -> list[Unit]:
    return [
        Unit(
            id=uid,
            name=name,
            kind=kind,
            municipality_number=number,
            leader_id=f"{uid}-leder",
            hours={},
        )
        for uid, name, kind, number in SPECIALIST_UNITS
    ]


def _people_for_unit(unit: Unit) -> tuple[list[Person], list[Membership]]:
    roles = {
        "dps": ["discharge_coordinator"],
        "tsb": ["discharge_coordinator", "lar_consultant"],
    }.get(unit.kind, ["municipal_contact"])
    contact = Person(
        id=f"{unit.id}-kontakt",
        name=f"Kontakt, {unit.name}",
        email=f"{unit.id}.kontakt@example.no",
        roles=roles,
    )
    backup = Person(
        id=f"{unit.id}-vara",
        name=f"Vara, {unit.name}",
        email=f"{unit.id}.vara@example.no",
        roles=roles,
    )
    leader = Person(
        id=f"{unit.id}-leder",
        name=f"Leder, {unit.name}",
        email=f"{unit.id}.leder@example.no",
        roles=["leader"],
    )
    memberships = [
        Membership(person_id=contact.id, unit_id=unit.id, is_backup=False),
        Membership(person_id=backup.id, unit_id=unit.id, is_backup=True),
        Membership(person_id=leader.id, unit_id=unit.id, is_backup=True),
    ]
    return [contact, backup, leader], memberships


def _policy(number: str, name: str) -> EscalationPolicyRow:
    levels = [
        EscalationLevel(wait=timedelta(hours=4), notify=(Recipient.OWNER_UNIT,)),
        EscalationLevel(
            wait=timedelta(hours=4),
            notify=(Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER),
            channels=(Channel.IN_APP, Channel.EMAIL),
            repeat_every=timedelta(hours=2),
        ),
        EscalationLevel(
            wait=timedelta(hours=8),
            notify=(Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER),
            channels=(Channel.IN_APP, Channel.EMAIL),
            repeat_every=timedelta(hours=8),
        ),
    ]
    return EscalationPolicyRow(
        id=f"policy-{_SLUGS[number]}",
        version=1,
        name=f"{name}: kvittering innen 4 arbeidstimer",
        municipality_number=number,
        levels=[level.model_dump(mode="json") for level in levels],
        created_at=datetime.now(UTC),
        created_by="demo",
    )


def demo_rows() -> list[object]:
    municipalities = [
        Municipality(number=n, name=name, leader_id=f"{_SLUGS[n]}-kommunalsjef")
        for n, name in MUNICIPALITIES
    ]
    chiefs = [
        Person(id=f"{_SLUGS[n]}-kommunalsjef", name=f"Kommunalsjef helse, {name}", roles=["leader"])
        for n, name in MUNICIPALITIES
    ]
    admin = Person(id="admin", name="Systemforvalter", roles=["administrator"])
    units = _specialist_units() + _municipal_units()
    people: list[Person] = [*chiefs, admin]
    memberships: list[Membership] = []
    for unit in units:
        unit_people, unit_memberships = _people_for_unit(unit)
        people += unit_people
        memberships += unit_memberships
    policies = [_policy(n, name) for n, name in MUNICIPALITIES]
    return [*municipalities, *people, *units, *memberships, *policies]


async def load_demo(db: Database) -> int:
    """Merge the demo directory into the database; returns how many rows it holds."""
    rows = demo_rows()
    async with db.transaction() as session:
        for row in rows:
            await session.merge(row)
            await session.flush()  # parents before children: the tables have no ORM relationships
    return len(rows)
