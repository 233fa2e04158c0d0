"""The command table: every command and every route without patient data (directory,
policies, codec, absences, the audit log) × every role × own/other unit, on the real stack.

Who may *read* a patient's data is the access model's (domain.access), and its routes are in
the generated matrix (tests/api/test_access_matrix.py, READ_ROUTES in tests/access_world.py);
the rules here are the command rules of api/auth/policy.py, typed from them.
To cover a new route: add a Route to ROUTES (how to call it against the world) and one line
per persona to its `allowed` set; `test_every_route_is_in_the_table` lists what is missing.
A refusal must be 403 problem+json with a reason, and leave an audit row saying "refused".
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from foundation.settings import Settings
from store.audit import AuditRow
from store.database import Database
from store.tables import Membership, NotificationRow, Person, Transition

from access_world import READ_ROUTES
from factories import DirectoryFactory, fast_levels
from polling import eventually

PERSONAS = [
    "coordinator_own",
    "coordinator_other",
    "contact_own",
    "contact_other",
    "nav_contact_own",
    "leader_municipality_own",
    "leader_dps_own",
    "leader_other",
    "administrator",
    "lar_consultant_own",
    "lar_physician_own",
    "lar_physician_other",
]
EVERYONE = set(PERSONAS)
# Who drives a transition from its origin DPS/TSB unit (policy.may_drive_transition).
DRIVERS = {"coordinator_own", "lar_consultant_own", "lar_physician_own"}
# Who manages contact_own's absences: themselves, a leader over their unit, administrators.
ABSENCE_MANAGERS = {"contact_own", "leader_municipality_own", "administrator"}


@dataclass
class World:
    own: DirectoryFactory
    other: DirectoryFactory
    people: dict[str, str]
    transition_id: str = ""
    task_id: str = ""
    patient_id: str = ""
    lar_change_id: str = ""
    transfer_id: str = ""
    absence_id: int = 0
    notification_id: int = 0

    def headers(self, persona: str) -> dict[str, str]:
        return self.own.headers(self.people[persona])


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    allowed: set[str]
    call: Callable[[World], tuple[str, dict[str, Any] | None]]
    # For lists everyone may call: who sees the world's transition in the answer.
    sees: set[str] | None = None
    seen: Callable[[World, Any], bool] | None = None
    writes: bool = False  # an allowed call changes the world: give it a fresh transition
    extra: dict[str, str] = field(default_factory=dict)
    # For writes: how the fresh world is made, and what brings it to the phase the call needs.
    fresh: Callable[[httpx.AsyncClient, Database, World], Awaitable[World]] | None = None
    prepare: Callable[[httpx.AsyncClient, World], Awaitable[None]] | None = None
    # What others get: 403, or 404 where the thing is private to one person (no enumeration).
    refusal: int = 403


def _lar_change_body(w: World) -> dict[str, Any]:
    return {
        "patient": w.own.discharge_body()["patient"],
        "municipality_number": w.own.number,
        "origin_unit_id": w.own.dps,
        "dispensing_unit_id": w.own.intake,
        "proposal": {
            "dose": "metadon 90 mg",
            "dispensing_site": "Apoteket",
            "pick_up_regime": "daglig",
            "take_home_doses": 0,
            "reason": "Stabil, ønsker færre hentinger",
        },
        "effective_date": (date.today() + timedelta(days=10)).isoformat(),
    }


def _transfer_body(w: World) -> dict[str, Any]:
    return {
        "origin_unit_id": w.own.dps,
        "municipality_number": w.own.number,
        "reason": "Behandler slutter",
        "patients": [{"patient": w.own.discharge_body()["patient"]}],
    }


def _task_ids(body: Any) -> set[str]:
    return {item["task"]["id"] for item in body}


async def _command(
    http: httpx.AsyncClient, w: World, persona: str, path: str, body: Any = None
) -> None:
    """A step of a route's setup, done by the one who may: it must succeed."""
    response = await http.post(path, json=body, headers=w.headers(persona))
    assert response.status_code in (200, 201), response.text


async def _accept_intake(http: httpx.AsyncClient, w: World) -> None:
    await _command(http, w, "contact_own", f"/api/v1/tasks/{w.task_id}/accept")


async def _discharge(http: httpx.AsyncClient, w: World) -> None:
    await _command(http, w, "coordinator_own", f"/api/v1/transitions/{w.transition_id}/discharged")


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def _absence_body(w: World) -> dict[str, Any]:
    """An absence of contact_own a month ahead: nobody stands in for them during the test."""
    starts = datetime.now(UTC) + timedelta(days=30)
    return {
        "person_id": w.people["contact_own"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=7)).isoformat(),
        "substitute_id": w.own.identity.backup,
        "reason": "ferie",
    }


def _policy_body(w: World) -> dict[str, Any]:
    return {
        "id": f"{w.own.slug}-p-{uuid.uuid4().hex[:6]}",
        "name": "Ny policy",
        "municipality_number": w.own.number,
        "levels": fast_levels(seconds=3600),
    }


def _transition_command(name: str, body: Callable[[World], Any] | None = None) -> Any:
    template = f"/api/v1/transitions/{{transition_id}}/{name}"
    return lambda w: (template.format(transition_id=w.transition_id), body(w) if body else None)


def _lar_command(name: str, body: dict[str, Any]) -> Any:
    return lambda w: (f"/api/v1/lar-changes/{w.lar_change_id}/{name}", body)


ROUTES = [
    Route(
        "POST",
        "/api/v1/discharges",
        {"coordinator_own", "lar_consultant_own"},
        lambda w: ("/api/v1/discharges", w.own.discharge_body()),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/tasks/{task_id}/acknowledge",
        {"contact_own"},
        lambda w: (f"/api/v1/tasks/{w.task_id}/acknowledge", None),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/tasks/{task_id}/reject",
        {"contact_own"},
        lambda w: (f"/api/v1/tasks/{w.task_id}/reject", {"reason": "Ikke vår tjeneste"}),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/tasks/{task_id}/assign",
        {"contact_own"},
        lambda w: (
            f"/api/v1/tasks/{w.task_id}/assign",
            {"assignee_id": w.people["contact_own"]},
        ),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/transitions/{transition_id}/cancel",
        DRIVERS,
        lambda w: (f"/api/v1/transitions/{w.transition_id}/cancel", {"reason": "Feilregistrert"}),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/transitions/{transition_id}/ready-for-discharge",
        DRIVERS,
        lambda w: (f"/api/v1/transitions/{w.transition_id}/ready-for-discharge", None),
        writes=True,
    ),
    Route(
        "GET",
        "/api/v1/audit/log",
        {"administrator"},
        lambda w: ("/api/v1/audit/log?limit=5", None),
    ),
    Route(
        "GET",
        "/api/v1/caught-mail",
        {"administrator"},
        lambda w: ("/api/v1/caught-mail?limit=5", None),
    ),
    Route("GET", "/api/v1/units", EVERYONE, lambda w: ("/api/v1/units?limit=5", None)),
    Route(
        "GET", "/api/v1/units/{unit_id}", EVERYONE, lambda w: (f"/api/v1/units/{w.own.dps}", None)
    ),
    Route(
        "PUT",
        "/api/v1/units/{unit_id}",
        {"administrator"},
        lambda w: (
            f"/api/v1/units/{w.own.slug}-ny-{uuid.uuid4().hex[:6]}",
            {
                "name": "Ny enhet",
                "kind": "home_care",
                "municipality_number": w.own.number,
                "her_id": None,
                "leader_id": None,
                "email": None,
            },
        ),
    ),
    Route(
        "PATCH",
        "/api/v1/units/{unit_id}",
        {"administrator"},
        lambda w: (f"/api/v1/units/{w.own.other_unit}", {"email": "hjemme@test.kommune.no"}),
    ),
    Route("GET", "/api/v1/people", EVERYONE, lambda w: ("/api/v1/people?limit=5", None)),
    Route(
        "GET",
        "/api/v1/people/{person_id}",
        EVERYONE,
        lambda w: (f"/api/v1/people/{w.people['contact_own']}", None),
    ),
    Route(
        "PUT",
        "/api/v1/people/{person_id}",
        {"administrator"},
        lambda w: (
            f"/api/v1/people/{w.own.slug}-ny-{uuid.uuid4().hex[:6]}",
            {
                "name": "Nina Ny",
                "email": None,
                "hpr_number": None,
                "roles": ["municipal_contact"],
                "units": [{"unit_id": w.own.intake}],
            },
        ),
    ),
    Route(
        "PATCH",
        "/api/v1/people/{person_id}",
        {"administrator"},
        lambda w: (f"/api/v1/people/{w.own.identity.outsider}", {"email": "ola@test.no"}),
    ),
    Route(
        "POST",
        "/api/v1/lar-changes",
        {"lar_consultant_own", "lar_physician_own"},
        lambda w: ("/api/v1/lar-changes", _lar_change_body(w)),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/portfolio-transfers",
        {"coordinator_own", "leader_dps_own"},
        lambda w: ("/api/v1/portfolio-transfers", _transfer_body(w)),
        writes=True,
        extra={"Idempotency-Key": "new"},
    ),
    Route(
        "GET",
        "/api/v1/escalation-policies",
        EVERYONE,
        lambda w: ("/api/v1/escalation-policies", None),
    ),
    Route(
        "POST",
        "/api/v1/tasks/{task_id}/accept",
        {"contact_own"},
        lambda w: (f"/api/v1/tasks/{w.task_id}/accept", None),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/tasks/{task_id}/start",
        {"contact_own"},
        lambda w: (f"/api/v1/tasks/{w.task_id}/start", None),
        writes=True,
        prepare=_accept_intake,
    ),
    Route(
        "POST",
        "/api/v1/tasks/{task_id}/complete",
        {"contact_own"},
        lambda w: (f"/api/v1/tasks/{w.task_id}/complete", {"note": "Tatt imot"}),
        writes=True,
        prepare=_accept_intake,
    ),
    Route(
        "PATCH",
        "/api/v1/transitions/{transition_id}",
        DRIVERS,
        lambda w: (
            f"/api/v1/transitions/{w.transition_id}",
            {"expected_discharge_date": _in_days(20), "reason": "Trenger mer tid"},
        ),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/transitions/{transition_id}/expected-discharge-date",
        DRIVERS,
        _transition_command(
            "expected-discharge-date", lambda w: {"expected_discharge_date": _in_days(21)}
        ),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/transitions/{transition_id}/meeting",
        DRIVERS,
        _transition_command(
            "meeting",
            lambda w: {"held_on": date.today().isoformat(), "participants": ["DPS", "Kommunen"]},
        ),
        writes=True,
        prepare=_accept_intake,
    ),
    Route(
        "POST",
        "/api/v1/transitions/{transition_id}/coordinator",
        {"contact_own"},
        _transition_command("coordinator", lambda w: {"coordinator_name": "Kari Koordinator"}),
        writes=True,
        fresh=lambda http, db, w: _start(http, db, w, needs={"coordinator": True}),
        prepare=_accept_intake,
    ),
    Route(
        "POST",
        "/api/v1/transitions/{transition_id}/discharged",
        DRIVERS,
        _transition_command("discharged", lambda w: {"planned": True}),
        writes=True,
    ),
    Route(
        "POST",
        "/api/v1/transitions/{transition_id}/first-contact",
        {"contact_own"},
        _transition_command("first-contact", lambda w: {"contacted_on": date.today().isoformat()}),
        writes=True,
        prepare=_discharge,
    ),
    Route(
        "POST",
        "/api/v1/escalation-policies",
        {"administrator"},
        lambda w: ("/api/v1/escalation-policies", _policy_body(w)),
    ),
    Route(
        "POST",
        "/codec/decode",
        {"administrator"},
        lambda w: ("/codec/decode", {"payloads": []}),
    ),
    Route(
        "POST",
        "/codec/encode",
        {"administrator"},
        lambda w: ("/codec/encode", {"payloads": []}),
    ),
    Route(
        "GET",
        "/api/v1/escalation-policies/{policy_id}",
        EVERYONE,
        lambda w: (f"/api/v1/escalation-policies/{w.own.slug}-policy", None),
    ),
    Route(
        "PUT",
        "/api/v1/escalation-policies/{policy_id}",
        {"administrator"},
        lambda w: (
            f"/api/v1/escalation-policies/{w.own.slug}-policy",
            {"name": "Testpolicy", "levels": fast_levels(seconds=3600)},
        ),
    ),
    Route(
        "GET",
        "/api/v1/absences",
        EVERYONE,
        lambda w: ("/api/v1/absences", None),
        sees={"contact_own", "leader_municipality_own"},
        seen=lambda w, body: w.absence_id in {a["id"] for a in body},
    ),
    Route(
        "POST",
        "/api/v1/absences",
        ABSENCE_MANAGERS,
        lambda w: ("/api/v1/absences", _absence_body(w)),
    ),
    Route(
        "DELETE",
        "/api/v1/absences/{absence_id}",
        ABSENCE_MANAGERS,
        lambda w: (f"/api/v1/absences/{w.absence_id}", None),
    ),
    Route(
        "GET",
        "/api/v1/notifications/failures",
        {"administrator"},
        lambda w: ("/api/v1/notifications/failures?limit=5", None),
    ),
    Route(
        "POST",
        "/api/v1/notifications/{notification_id}/read",
        {"contact_own"},
        lambda w: (f"/api/v1/notifications/{w.notification_id}/read", None),
        refusal=404,
    ),
    Route(
        "POST",
        "/api/v1/lar-changes/{transition_id}/answer",
        {"contact_own"},
        _lar_command("answer", {"agree": True, "comment": "Greit for oss"}),
        writes=True,
        fresh=lambda http, db, w: _start_lar_change(http, db, w),
    ),
    Route(
        "POST",
        "/api/v1/lar-changes/{transition_id}/override",
        {"lar_physician_own"},
        _lar_command("override", {"reason": "Kommunen svarer ikke, pasienten trenger endringen"}),
        writes=True,
        fresh=lambda http, db, w: _start_lar_change(http, db, w),
    ),
    Route(
        "POST",
        "/api/v1/lar-changes/{transition_id}/patient-view",
        {"lar_consultant_own", "lar_physician_own"},
        _lar_command("patient-view", {"view": "Jeg vil hente sjeldnere"}),
    ),
    Route(
        "POST",
        "/api/v1/lar-changes/{transition_id}/withdraw",
        {"lar_consultant_own", "lar_physician_own"},
        _lar_command("withdraw", {"reason": "Kommunen har rett"}),
        writes=True,
        fresh=lambda http, db, w: _start_lar_change(http, db, w),
    ),
    Route(
        "POST",
        "/api/v1/lar-changes/{transition_id}/revise",
        {"lar_consultant_own", "lar_physician_own"},
        lambda w: (
            f"/api/v1/lar-changes/{w.lar_change_id}/revise",
            {k: v for k, v in _lar_change_body(w).items() if k in ("proposal", "effective_date")},
        ),
        writes=True,
        fresh=lambda http, db, w: _start_lar_change(http, db, w),
    ),
]
# Read routes of patient data: the generated matrix; the emergency follow-up (a leader's
# command on a grant): tests/api/test_emergency_access.py.
COVERED_ELSEWHERE: set[str] = READ_ROUTES | {"POST /api/v1/emergency-access/{grant_id}/follow-up"}
PUBLIC = {"GET /healthz", "GET /readyz"}


async def _add_person(db: Database, person_id: str, role: str, unit_id: str | None) -> None:
    async with db.transaction() as session:
        await session.merge(Person(id=person_id, name=person_id, roles=[role]))
        await session.flush()
        if unit_id:
            await session.merge(Membership(person_id=person_id, unit_id=unit_id))


async def _build_world(db: Database, settings: Settings) -> World:
    own, other = DirectoryFactory(db, settings), DirectoryFactory(db, settings)
    await own.create()
    await other.create()
    extra = {
        "nav_contact_own": ("municipal_contact", own.nav),
        "administrator": ("administrator", None),
        "lar_consultant_own": ("lar_consultant", own.dps),
        "lar_physician_own": ("lar_physician", own.dps),
        "lar_physician_other": ("lar_physician", other.dps),
    }
    people = {}
    for persona, (role, unit) in extra.items():
        people[persona] = f"{own.slug}-{persona.replace('_', '-')}"
        await _add_person(db, people[persona], role, unit)
    people.update(
        coordinator_own=own.identity.coordinator,
        coordinator_other=other.identity.coordinator,
        contact_own=own.identity.contact,
        contact_other=other.identity.contact,
        leader_municipality_own=own.identity.municipal_leader,
        leader_dps_own=own.identity.origin_leader,
        leader_other=other.identity.municipal_leader,
    )
    return World(own=own, other=other, people=people)


async def _registered(db: Database, transition_id: str) -> Transition:
    async def registered() -> Transition | None:
        async with db.transaction() as session:
            return await session.get(Transition, transition_id)

    return await eventually(registered, what="the transition in the read model")


async def _start(http: httpx.AsyncClient, db: Database, world: World, **overrides: Any) -> World:
    """A fresh discharge in the own municipality, visible in the read model."""
    started = await http.post(
        "/api/v1/discharges",
        json=world.own.discharge_body(**overrides),
        headers=world.headers("coordinator_own"),
    )
    assert started.status_code == 201, started.text
    body = started.json()
    row = await _registered(db, body["id"])
    return replace(
        world,
        transition_id=body["id"],
        task_id=body["tasks"][0]["id"],
        patient_id=row.patient_id,
    )


async def _start_lar_change(http: httpx.AsyncClient, db: Database, world: World) -> World:
    """A fresh LAR change from the own TSB, consulting the own municipality."""
    started = await http.post(
        "/api/v1/lar-changes",
        json=_lar_change_body(world),
        headers=world.headers("lar_consultant_own"),
    )
    assert started.status_code == 201, started.text
    await _registered(db, started.json()["id"])
    return replace(world, lar_change_id=started.json()["id"])


async def _transfer(http: httpx.AsyncClient, world: World) -> World:
    """A portfolio transfer, once its handover is registered with its step."""
    headers = {**world.headers("coordinator_own"), "Idempotency-Key": str(uuid.uuid4())}
    started = await http.post(
        "/api/v1/portfolio-transfers", json=_transfer_body(world), headers=headers
    )
    assert started.status_code == 202, started.text
    path = f"/api/v1/portfolio-transfers/{started.json()['id']}"

    async def registered() -> bool:
        progress = await http.get(path, headers=world.headers("coordinator_own"))
        if progress.status_code != 200:
            return False
        body = progress.json()
        return body["registered"] == body["total"] and all(
            item["task_status"] for item in body["handovers"]
        )

    await eventually(registered, what="the transfer's handover and its step")
    return replace(world, transfer_id=started.json()["id"])


async def _personal_things(http: httpx.AsyncClient, db: Database, world: World) -> World:
    """An absence and an in-app notification of contact_own."""
    absence = await http.post(
        "/api/v1/absences", json=_absence_body(world), headers=world.headers("contact_own")
    )
    assert absence.status_code == 201, absence.text
    async with db.transaction() as session:
        notification = NotificationRow(
            key=f"authz-{uuid.uuid4()}",
            person_id=world.people["contact_own"],
            channel="in_app",
            transition_id=world.transition_id,
            task_id=world.task_id,
            reason="new_task",
            created_at=datetime.now(UTC),
        )
        session.add(notification)
        await session.flush()
        notification_id = notification.id
    return replace(world, absence_id=absence.json()["id"], notification_id=notification_id)


@pytest.fixture(scope="module")
async def world(db: Database, settings: Settings, app_client: httpx.AsyncClient) -> World:
    built = await _start(app_client, db, await _build_world(db, settings))
    built = await _start_lar_change(app_client, db, built)
    built = await _transfer(app_client, built)
    return await _personal_things(app_client, db, built)


def _cases() -> list[Any]:
    return [
        pytest.param(route, persona, id=f"{route.method} {route.template} as {persona}")
        for route in ROUTES
        for persona in PERSONAS
    ]


async def _refusal_logged(db: Database, person_id: str, path: str) -> bool:
    async with db.transaction() as session:
        row = await session.scalar(
            select(AuditRow).where(
                AuditRow.actor_id == person_id,
                AuditRow.outcome == "refused",
                AuditRow.resource == path.split("?")[0],
            )
        )
        return row is not None and bool(row.reason)


@pytest.mark.parametrize(("route", "persona"), _cases())
async def test_authorization_table(
    route: Route, persona: str, world: World, app_client: httpx.AsyncClient, db: Database
) -> None:
    allowed = persona in route.allowed
    target = world
    if allowed and route.writes:
        target = await (route.fresh or _start)(app_client, db, world)
        if route.prepare is not None:
            await route.prepare(app_client, target)
    path, body = route.call(target)
    extra = {k: (str(uuid.uuid4()) if v == "new" else v) for k, v in route.extra.items()}
    response = await app_client.request(
        route.method, path, json=body, headers={**world.headers(persona), **extra}
    )
    if not allowed:
        assert response.status_code == route.refusal, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"], "a refusal names its reason"
        if route.refusal == 403:
            assert await _refusal_logged(db, world.people[persona], path)
        return
    assert response.status_code in (200, 201, 202), response.text
    if route.seen is not None:
        assert route.seen(target, response.json()) == (persona in (route.sees or set())), (
            f"{persona} {'should' if persona in (route.sees or set()) else 'should not'} "
            "see the transition"
        )


def _app_routes(app_client: httpx.AsyncClient) -> set[str]:
    app = app_client._transport.app  # type: ignore[attr-defined]
    spec = app.openapi()
    return {
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method in operations
        if path.startswith(("/api/", "/fhir/"))
    }


async def test_every_route_is_in_the_table(app_client: httpx.AsyncClient) -> None:
    tabled = {f"{r.method} {r.template}" for r in ROUTES}
    missing = _app_routes(app_client) - tabled - COVERED_ELSEWHERE
    assert not missing, f"routes missing from the authorization table: {sorted(missing)}"


async def test_every_route_needs_a_token(app_client: httpx.AsyncClient) -> None:
    for route in sorted(_app_routes(app_client)):
        method, template = route.split(" ", 1)
        path = template.replace("{", "x").replace("}", "")
        response = await app_client.request(method, path)
        assert response.status_code == 401, (route, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for route in PUBLIC:
        method, path = route.split(" ", 1)
        assert (await app_client.request(method, path)).status_code == 200
    assert (await app_client.get("/metrics")).status_code == 200


async def test_a_leader_pages_and_filters_their_municipalitys_transitions(
    world: World, app_client: httpx.AsyncClient, db: Database
) -> None:
    started = [(await _start(app_client, db, world)).transition_id for _ in range(3)]
    leader = world.headers("leader_municipality_own")
    seen: list[str] = []
    cursor = None
    while True:
        query = f"/api/v1/transitions?municipality={world.own.number}&limit=2"
        page = await app_client.get(query + (f"&cursor={cursor}" if cursor else ""), headers=leader)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert set(started) <= set(seen)
    assert len(seen) == len(set(seen)), "pages do not overlap"
    by_unit = await app_client.get(
        f"/api/v1/transitions?unit={world.own.intake}&status=active&limit=200", headers=leader
    )
    assert set(started) <= {item["id"] for item in by_unit.json()["items"]}
    none_other = await app_client.get(
        f"/api/v1/transitions?unit={world.other.intake}&limit=200", headers=leader
    )
    assert none_other.json()["items"] == []  # another municipality: outside their scope
    overdue = await app_client.get("/api/v1/transitions?overdue=true&limit=200", headers=leader)
    assert not set(started) & {item["id"] for item in overdue.json()["items"]}
