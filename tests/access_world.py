"""A world to try the access model on: two municipalities (the home one with its DPS located
in it), every kind of reader, and transitions of every shape, built through the API on the
real stack. The expected answers are derived from domain.access over Readers and
TransitionFacts built here from the directory rows and the read model, independently of the
application's own loader (store.access)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from domain.access import HEALTH_SHARING_CONSENT, Reader, Step, TransitionFacts, UnitFacts
from domain.actors import Role
from domain.delegation import units_stood_in_for
from foundation.settings import Settings
from store.absences import AbsenceRow
from store.database import Database
from store.tables import (
    EventRow,
    Membership,
    Municipality,
    Person,
    TaskRow,
    Transition,
    Unit,
)

from factories import DirectoryFactory, make_fodselsnummer, start_discharge
from polling import eventually

# The patient's defaults when a transition records no consents (domain.discharge.Consents).
DEFAULT_CONSENTS = {HEALTH_SHARING_CONSENT: True, "electronic_messages": True}

# Every kind of reader, by persona; TRANSITIONS, every shape of transition, by label.
PERSONAS = [
    "coordinator",  # the origin DPS's discharge coordinator
    "lar_consultant",  # the origin DPS's LAR consultant
    "dps_backup",  # a listed backup of the DPS (the factory's DPS leader, leading nothing here)
    "dps_chief",  # leads the DPS without being a member of it
    "intake_contact",  # psykisk helse og rus, home municipality
    "intake_backup",
    "homecare",  # another unit of the same municipality
    "nav_contact",
    "housing_contact",
    "dual",  # member of the intake and the NAV office; absent now (and before)
    "sub_now",  # an intake colleague standing in for `dual` now
    "sub_after",  # an intake colleague whose stand-in for `dual` has ended
    "unit_leader",  # leads the home municipality's intake, NAV, housing and home care
    "municipal_leader",  # home municipality
    "other_intake",  # another municipality's intake contact
    "other_coordinator",  # another municipality's DPS coordinator
    "other_leader",  # another municipality's leader
    "administrator",
    "emergency",  # a health worker of another municipality, with a live emergency grant
]
TRANSITIONS = [
    "full",  # discharge with NAV and housing handovers (consent), LAR step, meeting note
    "full_nav",  # its NAV handover
    "full_housing",  # its housing handover
    "no_consent",  # NAV and housing needed, no consent: no handovers sent
    "objects",  # the patient objects to sharing with the municipal health service
    "forwarded",  # intake rejected by the intake unit and forwarded to home care
    "to_other",  # from the home DPS to another municipality
    "lar",  # a LAR change
    "transfer_nav",  # a portfolio transfer's handover to the NAV office (no consent recorded)
]
# The routes that read patient data: each in the generated matrix (test_access_matrix.py).
READ_ROUTES = {
    "GET /api/v1/transitions/{transition_id}",
    "GET /api/v1/transitions",
    "GET /api/v1/tasks",
    "GET /fhir/r4/Task/{task_id}",
    "GET /fhir/r4/Task",
    "GET /api/v1/patients/{patient_id}/access-log",
    "GET /api/v1/transitions/{transition_id}/access-log",
    "GET /api/v1/audit/events",
    "GET /api/v1/audit/stalled",
    "GET /api/v1/portfolio-transfers/{transfer_id}",
    "GET /api/v1/notifications",
    "GET /api/v1/emergency-access",
    "POST /api/v1/transitions/{transition_id}/emergency-access",
}
READY = ("full", "objects", "to_other")  # marked utskrivningsklar: in the stalled report
MEETING_NOTE = "Pasienten står i LAR; ruset seg siste uke."


@dataclass
class World:
    home: DirectoryFactory
    other: DirectoryFactory
    people: dict[str, str]
    transitions: dict[str, str] = field(default_factory=dict)
    transfer_id: str = ""
    grant_id: int = 0
    absences: list[tuple[str, str, datetime, datetime]] = field(default_factory=list)

    def headers(self, persona: str) -> dict[str, str]:
        return self.home.headers(self.people[persona])

    def label_of(self, transition_id: str) -> str | None:
        return next((k for k, v in self.transitions.items() if v == transition_id), None)


async def _add(db: Database, person_id: str, roles: list[str], units: list[str]) -> str:
    async with db.transaction() as session:
        await session.merge(Person(id=person_id, name=person_id, roles=roles))
        await session.flush()
        for unit in units:
            await session.merge(Membership(person_id=person_id, unit_id=unit))
    return person_id


async def _people(db: Database, home: DirectoryFactory, other: DirectoryFactory) -> dict[str, str]:
    s, i = home.slug, home.identity
    people = {
        "coordinator": i.coordinator,
        "dps_backup": i.origin_leader,
        "intake_contact": i.contact,
        "intake_backup": i.backup,
        "homecare": i.outsider,
        "unit_leader": i.unit_leader,
        "municipal_leader": i.municipal_leader,
        "other_intake": other.identity.contact,
        "other_coordinator": other.identity.coordinator,
        "other_leader": other.identity.municipal_leader,
    }
    added = {
        "lar_consultant": (["lar_consultant"], [home.dps]),
        "dps_chief": (["leader"], []),
        "nav_contact": (["municipal_contact"], [home.nav]),
        "housing_contact": (["municipal_contact"], [home.housing]),
        "dual": (["municipal_contact"], [home.intake, home.nav]),
        "sub_now": (["municipal_contact"], [home.intake]),
        "sub_after": (["municipal_contact"], [home.intake]),
        "administrator": (["administrator"], []),
        "emergency": (["municipal_contact"], [other.other_unit]),
    }
    for persona, (roles, units) in added.items():
        people[persona] = await _add(db, f"{s}-{persona.replace('_', '-')}", roles, units)
    async with db.transaction() as session:
        await session.execute(
            update(Unit).where(Unit.id == home.dps).values(leader_id=people["dps_chief"])
        )
    return people


async def _absences(db: Database, w: World) -> None:
    """`dual` is away now (sub_now stands in) and was away last week (sub_after stood in)."""
    now = datetime.now(UTC)
    periods = [
        (w.people["sub_now"], now - timedelta(days=1), now + timedelta(days=7)),
        (w.people["sub_after"], now - timedelta(days=10), now - timedelta(days=3)),
    ]
    async with db.transaction() as session:
        for substitute, starts, ends in periods:
            session.add(
                AbsenceRow(
                    person_id=w.people["dual"],
                    starts_at=starts,
                    ends_at=ends,
                    substitute_id=substitute,
                    reason="ferie",
                    created_by="test",
                    created_at=now,
                )
            )
            w.absences.append((w.people["dual"], substitute, starts, ends))


async def _registered(db: Database, transition_id: str) -> Transition:
    async def found() -> Transition | None:
        async with db.transaction() as session:
            return await session.get(Transition, transition_id)

    return await eventually(found, what=f"transition {transition_id} in the read model")


async def steps_of(db: Database, transition_id: str) -> list[TaskRow]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(TaskRow)
            .where(TaskRow.transition_id == transition_id)
            .order_by(TaskRow.created_at, TaskRow.id)
        )
        return list(rows)


async def _step_of_kind(db: Database, transition_id: str, kind: str) -> TaskRow:
    async def found() -> TaskRow | None:
        return next((t for t in await steps_of(db, transition_id) if t.kind == kind), None)

    return await eventually(found, what=f"a {kind} step on {transition_id}")


async def _post(
    http: httpx.AsyncClient, w: World, persona: str, path: str, body: Any = None
) -> Any:
    answer = await http.post(path, json=body, headers=w.headers(persona))
    assert answer.status_code in (200, 201, 202), answer.text
    return answer.json()


async def _children(db: Database, parent: str, kinds: set[str]) -> dict[str, str]:
    async def found() -> dict[str, str] | None:
        async with db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(Transition).where(
                        Transition.details["parent_transition_id"].as_string() == parent
                    )
                )
            )
        children = {str(r.details.get("handover_kind")): r.id for r in rows}
        with_steps = {k: v for k, v in children.items() if await steps_of(db, v)}
        return with_steps if set(with_steps) == kinds else None

    return await eventually(found, what=f"handovers {kinds} of {parent}")


async def _full(http: httpx.AsyncClient, db: Database, w: World) -> None:
    started = await start_discharge(
        http,
        w.home,
        needs={"housing": True, "nav": True, "lar": True, "coordinator": True},
        consents={"share_with_nav": True, "share_with_housing_office": True},
        relatives=[{"name": "Mor", "relation": "mor", "phone": "99999999"}],
    )
    full = w.transitions["full"] = started["id"]
    intake = await _step_of_kind(db, full, "municipal_intake")
    await _post(http, w, "intake_contact", f"/api/v1/tasks/{intake.id}/accept")
    await _step_of_kind(db, full, "cooperation_meeting")
    meeting = {"held_on": date.today().isoformat(), "participants": ["DPS"], "note": MEETING_NOTE}
    await _post(http, w, "coordinator", f"/api/v1/transitions/{full}/meeting", meeting)
    children = await _children(db, full, {"nav", "housing"})
    w.transitions["full_nav"], w.transitions["full_housing"] = children["nav"], children["housing"]


async def _discharges(http: httpx.AsyncClient, db: Database, w: World) -> None:
    no_consent = await start_discharge(http, w.home, needs={"housing": True, "nav": True})
    objects = await start_discharge(
        http, w.home, consents={"share_with_municipal_health_service": False}
    )
    forwarded = await start_discharge(http, w.home)
    to_other = await start_discharge(http, w.home, municipality_number=w.other.number)
    for label, started in (
        ("no_consent", no_consent),
        ("objects", objects),
        ("forwarded", forwarded),
        ("to_other", to_other),
    ):
        w.transitions[label] = started["id"]
        await _registered(db, started["id"])
    intake = await _step_of_kind(db, forwarded["id"], "municipal_intake")
    body = {"reason": "Hører til hjemmetjenesten", "forward_to_unit_id": w.home.other_unit}
    await _post(http, w, "intake_contact", f"/api/v1/tasks/{intake.id}/reject", body)

    async def forwarded_on() -> bool:
        return len(await steps_of(db, forwarded["id"])) == 2

    await eventually(forwarded_on, what="the intake forwarded to home care")


def _lar_body(w: World) -> dict[str, Any]:
    return {
        "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Lars LAR"},
        "municipality_number": w.home.number,
        "origin_unit_id": w.home.dps,
        "dispensing_unit_id": w.home.other_unit,
        "proposal": {
            "dose": "metadon 90 mg",
            "dispensing_site": "Hjemmetjenesten",
            "pick_up_regime": "daglig",
            "take_home_doses": 0,
            "reason": "Stabil, ønsker færre hentinger",
        },
        "effective_date": (date.today() + timedelta(days=10)).isoformat(),
        "what_matters": "Å kunne jobbe",
    }


async def _lar_and_transfer(http: httpx.AsyncClient, db: Database, w: World) -> None:
    lar = await _post(http, w, "lar_consultant", "/api/v1/lar-changes", _lar_body(w))
    w.transitions["lar"] = lar["id"]
    await _step_of_kind(db, lar["id"], "lar_consultation")
    transfer = {
        "origin_unit_id": w.home.dps,
        "municipality_number": w.home.number,
        "to_unit_id": w.home.nav,
        "reason": "Behandler slutter",
        "patients": [
            {
                "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Tor Overført"},
                "what_matters": "Å få hjelp til økonomien",
            }
        ],
    }
    headers = {**w.headers("coordinator"), "Idempotency-Key": str(uuid.uuid4())}
    started = await http.post("/api/v1/portfolio-transfers", json=transfer, headers=headers)
    assert started.status_code == 202, started.text
    w.transfer_id = started.json()["id"]
    [handover] = started.json()["transition_ids"]
    w.transitions["transfer_nav"] = handover
    await _step_of_kind(db, handover, "handover")


async def _ready(http: httpx.AsyncClient, db: Database, w: World) -> None:
    for label in READY:
        path = f"/api/v1/transitions/{w.transitions[label]}/ready-for-discharge"
        await _post(http, w, "coordinator", path)

    async def all_ready() -> bool:
        rows = [await _registered(db, w.transitions[label]) for label in READY]
        return all(row.ready_at is not None for row in rows)

    await eventually(all_ready, what="ready_at in the read model")


async def _grant(http: httpx.AsyncClient, w: World) -> None:
    path = f"/api/v1/transitions/{w.transitions['objects']}/emergency-access"
    grant = await _post(http, w, "emergency", path, {"reason": "Akutt på legevakt"})
    w.grant_id = grant["id"]


async def build_world(db: Database, settings: Settings, http: httpx.AsyncClient) -> World:
    home, other = DirectoryFactory(db, settings), DirectoryFactory(db, settings)
    await home.create()
    await other.create()
    w = World(home=home, other=other, people=await _people(db, home, other))
    await _absences(db, w)
    await _full(http, db, w)
    await _discharges(http, db, w)
    await _lar_and_transfer(http, db, w)
    await _ready(http, db, w)
    await _grant(http, w)
    return w


# --- the expected side: the model over facts built here --------------------------------


@dataclass(frozen=True)
class Facts:
    """The model's inputs for the whole world, built from rows (no application code)."""

    readers: dict[str, Reader]
    transitions: dict[str, TransitionFacts]
    units: dict[str, UnitFacts]
    rows: dict[str, Transition]
    steps: dict[str, list[TaskRow]]
    events: dict[str, list[EventRow]]


def _consents(details: dict[str, Any]) -> frozenset[str]:
    given = {**DEFAULT_CONSENTS, **(details.get("consents") or {})}
    return frozenset(k for k, v in given.items() if v is True)


def _transition_facts(
    row: Transition, steps: list[TaskRow], parent: TransitionFacts | None
) -> TransitionFacts:
    return TransitionFacts(
        id=row.id,
        municipality_number=row.municipality_number,
        origin_unit_id=row.origin_unit_id,
        steps=tuple(
            Step(owner_unit_id=s.owner_unit_id, rejected=s.status == "rejected") for s in steps
        ),
        consents=_consents(row.details or {}),
        parent=parent,
    )


async def _rows(db: Database, w: World) -> tuple[dict[str, Transition], dict[str, list[TaskRow]]]:
    ids = list(w.transitions.values())
    async with db.transaction() as session:
        rows = {
            r.id: r for r in await session.scalars(select(Transition).where(Transition.id.in_(ids)))
        }
        tasks = list(
            await session.scalars(
                select(TaskRow)
                .where(TaskRow.transition_id.in_(ids))
                .order_by(TaskRow.created_at, TaskRow.id)
            )
        )
    steps = {i: [t for t in tasks if t.transition_id == i] for i in ids}
    return rows, steps


async def events_of(db: Database, transition_ids: list[str]) -> dict[str, list[EventRow]]:
    async with db.transaction() as session:
        events = list(
            await session.scalars(
                select(EventRow).where(EventRow.transition_id.in_(transition_ids))
            )
        )
    return {i: [e for e in events if e.transition_id == i] for i in transition_ids}


async def _units(db: Database, w: World) -> dict[str, UnitFacts]:
    numbers = [w.home.number, w.other.number]
    async with db.transaction() as session:
        rows = await session.scalars(select(Unit).where(Unit.municipality_number.in_(numbers)))
        return {
            u.id: UnitFacts(id=u.id, kind=u.kind, municipality_number=u.municipality_number)
            for u in rows
        }


async def _readers(db: Database, w: World) -> dict[str, Reader]:
    """Each persona as the model sees them now, from the directory's rows and the absences
    and grant this world made."""
    now = datetime.now(UTC)
    async with db.transaction() as session:
        members = list(await session.execute(select(Membership.person_id, Membership.unit_id)))
        led_units = list(await session.execute(select(Unit.leader_id, Unit.id)))
        led_towns = list(await session.execute(select(Municipality.leader_id, Municipality.number)))
        units = {
            u.id: UnitFacts(id=u.id, kind=u.kind, municipality_number=u.municipality_number)
            for u in await session.scalars(select(Unit))
        }
        people = {
            p.id: p
            for p in await session.scalars(
                select(Person).where(Person.id.in_(list(w.people.values())))
            )
        }

    def units_of(person: str) -> frozenset[str]:
        return frozenset(u for p, u in members if p == person)

    readers = {}
    for persona, person in w.people.items():
        standing = [a for a, s, start, end in w.absences if s == person and start <= now < end]
        readers[persona] = Reader(
            person_id=person,
            roles=frozenset(Role(r) for r in people[person].roles),
            member_of=units_of(person),
            # The rule itself (domain.delegation): only the absent person's units of a service
            # and municipality the substitute works in, so `dual`'s NAV office is not passed on.
            standing_in_for=units_stood_in_for(
                units_of(person), {a: units_of(a) for a in standing}, units
            ),
            leads_units=frozenset(u for leader, u in led_units if leader == person),
            leads_municipalities=frozenset(n for leader, n in led_towns if leader == person),
            emergency_grants=frozenset(
                {w.transitions["objects"]} if persona == "emergency" else set()
            ),
        )
    return readers


async def facts(db: Database, w: World) -> Facts:
    rows, steps = await _rows(db, w)
    own = {i: _transition_facts(r, steps[i], None) for i, r in rows.items()}
    transitions = {}
    for i, row in rows.items():
        parent = (row.details or {}).get("parent_transition_id")
        transitions[i] = own[i].model_copy(update={"parent": own.get(parent) if parent else None})
    return Facts(
        readers=await _readers(db, w),
        transitions=transitions,
        units=await _units(db, w),
        rows=rows,
        steps=steps,
        events=await events_of(db, list(rows)),
    )
