"""The access matrix: every API read route × every kind of reader × every shape of transition,
on the real stack, with the expected answer (status code, and which fields, steps and events
are present) derived from domain.access for that reader and transition: never typed by hand.

The world (tests/access_world.py) is built once per module; Readers and TransitionFacts for
the expectations are built from the directory rows and the read model there, not by the
application's loader. The matrix's size is printed by test_matrix_size.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from domain.access import (
    PROCESS_DETAIL_KEYS,
    Part,
    Reader,
    Relation,
    follows_up,
    is_health_worker,
    parts,
    reads_access_log,
    relations,
)
from foundation.settings import Settings
from store.audit import AuditRow
from store.database import Database
from store.tables import TaskRow

from access_world import (
    MEETING_NOTE,
    PERSONAS,
    READ_ROUTES,
    READY,
    TRANSITIONS,
    Facts,
    World,
    build_world,
    events_of,
    facts,
)

Check = Callable[[World, Facts, httpx.AsyncClient, Database, str, str], Coroutine[Any, Any, None]]
PER_TRANSITION: dict[str, tuple[str, list[str]]] = {}  # check name -> (route, labels)
PER_READER: dict[str, str] = {}  # check name -> route


@pytest.fixture(scope="module")
async def world(db: Database, settings: Settings, app_client: httpx.AsyncClient) -> World:
    return await build_world(db, settings, app_client)


@pytest.fixture(scope="module")
async def model(world: World, db: Database) -> Facts:
    return await facts(db, world)


_cache: dict[tuple[str, str], Any] = {}


async def _listed(http: httpx.AsyncClient, w: World, persona: str, path: str) -> Any:
    """A list route's answer for a persona, fetched once per module."""
    key = (w.home.slug + path, persona)
    if key not in _cache:
        answer = await http.get(path, headers=w.headers(persona))
        assert answer.status_code == 200, answer.text
        _cache[key] = answer.json()
    return _cache[key]


# --- the model's answers ----------------------------------------------------------------


def found(m: Facts, persona: str, transition_id: str) -> frozenset[Relation]:
    return relations(m.readers[persona], m.transitions[transition_id], m.units)


def given(m: Facts, persona: str, transition_id: str) -> frozenset[Part]:
    return parts(found(m, persona, transition_id))


def shows_step(reader: Reader, shown: frozenset[Part], step: TaskRow) -> bool:
    if Part.ALL_STEPS in shown:
        return True
    return Part.OWN_STEPS in shown and step.owner_unit_id in reader.acting_units


def visible_steps(m: Facts, persona: str, transition_id: str) -> set[str]:
    shown = given(m, persona, transition_id)
    reader = m.readers[persona]
    return {s.id for s in m.steps[transition_id] if shows_step(reader, shown, s)}


def family_steps(m: Facts, persona: str, transition_id: str) -> set[str]:
    """The steps a detail shows: its own, and its children's when the family part is given."""
    steps = visible_steps(m, persona, transition_id)
    if Part.FAMILY in given(m, persona, transition_id):
        for child, facts_ in m.transitions.items():
            if facts_.parent is not None and facts_.parent.id == transition_id:
                steps |= visible_steps(m, persona, child)
    return steps


def visible_event_keys(m: Facts, persona: str, transition_id: str, events: Any) -> set[Any]:
    shown = given(m, persona, transition_id)
    if Part.ALL_STEPS in shown:
        return {(e.transition_id, e.seq) for e in events}
    steps = visible_steps(m, persona, transition_id)
    return {(e.transition_id, e.seq) for e in events if e.task_id in steps}


def check(route: str, labels: list[str] | None = None) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        PER_TRANSITION[fn.__name__] = (route, labels or TRANSITIONS)
        return fn

    return register


# --- per transition -----------------------------------------------------------------------


async def _refused(db: Database, person: str, transition_id: str) -> bool:
    async with db.transaction() as session:
        row = await session.scalar(
            select(AuditRow).where(
                AuditRow.actor_id == person,
                AuditRow.outcome == "refused",
                AuditRow.transition_id == transition_id,
                AuditRow.patient_id.is_not(None),
            )
        )
    return row is not None


def _present(body: dict[str, Any], field: str) -> bool:
    return body.get(field) is not None


def _check_fields(m: Facts, persona: str, t: str, body: dict[str, Any]) -> None:
    shown = given(m, persona, t)
    row = m.rows[t]
    facts_ = m.transitions[t]
    clinical = Part.CLINICAL in shown
    expected = {
        "patient_name": Part.IDENTITY in shown,
        "what_matters": Part.VOICE in shown,
        "needs": clinical or Part.NEEDS_AND_CONTACTS in shown,
        "consents": clinical and "consents" in (row.details or {}),
        "relatives": clinical and "relatives" in (row.details or {}),
        "lar_change": clinical and row.kind == "lar_change",
        "children": Part.FAMILY in shown,
        "parent_transition_id": facts_.parent is not None
        and bool(relations(m.readers[persona], facts_.parent, m.units)),
    }
    present = {name: _present(body, name) for name in expected}
    assert present == expected, {k: (present[k], v) for k, v in expected.items() if present[k] != v}


def _check_steps(m: Facts, persona: str, t: str, body: dict[str, Any]) -> None:
    shown = given(m, persona, t)
    assert {task["id"] for task in body["tasks"]} == family_steps(m, persona, t)
    if Part.CLINICAL not in shown:
        assert all(task["reason"] is None and task["note"] is None for task in body["tasks"])
        for event in body["timeline"]:
            assert set(event["detail"]) <= PROCESS_DETAIL_KEYS, event
    if Part.ALL_STEPS not in shown:
        steps = family_steps(m, persona, t)
        assert all(e["task_id"] in steps for e in body["timeline"])


@check("GET /api/v1/transitions/{transition_id}")
async def detail(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    answer = await http.get(f"/api/v1/transitions/{t}", headers=w.headers(persona))
    if not given(m, persona, t):
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert await _refused(db, w.people[persona], t), "the refusal is in the patient's log"
        return
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["relations"] == sorted(found(m, persona, t))
    assert body["parts"] == sorted(given(m, persona, t))
    _check_fields(m, persona, t, body)
    _check_steps(m, persona, t, body)
    if Part.CLINICAL in given(m, persona, t) and t == w.transitions["full"]:
        assert MEETING_NOTE in str(body["tasks"]), "the clinical part shows the meeting note"


@check("GET /fhir/r4/Task/{task_id}")
async def fhir_read(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    reader, shown = m.readers[persona], given(m, persona, t)
    for step in m.steps[t]:
        answer = await http.get(f"/fhir/r4/Task/{step.id}", headers=w.headers(persona))
        expected = 200 if shows_step(reader, shown, step) else 403
        assert answer.status_code == expected, (step.kind, step.owner_unit_id, answer.text)
        if expected == 200 and step.reason and Part.CLINICAL not in shown:
            assert "statusReason" not in answer.json()


def log_readers(m: Facts, persona: str, t: str) -> set[str]:
    """The patient's transitions whose relation lets the persona read the patient's log."""
    patient = m.rows[t].patient_id
    theirs = [i for i, r in m.rows.items() if r.patient_id == patient]
    return {i for i in theirs if reads_access_log(found(m, persona, i))}


@check("GET /api/v1/patients/{patient_id}/access-log")
async def access_log(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    patient = m.rows[t].patient_id
    related, admin = log_readers(m, persona, t), persona == "administrator"
    answer = await http.get(f"/api/v1/patients/{patient}/access-log", headers=w.headers(persona))
    assert answer.status_code == (200 if related or admin else 403), answer.text
    if answer.status_code == 200 and not admin:
        assert {e["transition_id"] for e in answer.json()} <= related | {None}


@check("GET /api/v1/transitions/{transition_id}/access-log")
async def transition_access_log(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    """The same rule as the patient's log, reached through one of the patient's transitions."""
    related, admin = log_readers(m, persona, t), persona == "administrator"
    answer = await http.get(f"/api/v1/transitions/{t}/access-log", headers=w.headers(persona))
    assert answer.status_code == (200 if related or admin else 403), answer.text


@check("GET /api/v1/transitions")
async def transition_list(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    body = await _listed(http, w, persona, "/api/v1/transitions?limit=200")
    assert (t in {i["id"] for i in body["items"]}) == bool(given(m, persona, t))


@check("GET /api/v1/tasks")
async def inbox(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    body = await _listed(http, w, persona, "/api/v1/tasks?include_closed=true")
    items = {i["task"]["id"]: i for i in body}
    reader, shown = m.readers[persona], given(m, persona, t)
    for step in m.steps[t]:
        expected = step.owner_unit_id in reader.acting_units and shows_step(reader, shown, step)
        assert (step.id in items) == expected, (step.kind, step.owner_unit_id)
        if expected:
            assert (items[step.id]["patient_name"] is not None) == (Part.IDENTITY in shown)
            assert (items[step.id]["what_matters"] is not None) == (Part.VOICE in shown)


@check("GET /fhir/r4/Task")
async def fhir_search(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    bundle = await _listed(http, w, persona, "/fhir/r4/Task?_count=500")
    listed = {e["resource"]["id"] for e in bundle.get("entry", [])}
    assert {s.id for s in m.steps[t]} & listed == visible_steps(m, persona, t)


@check("GET /api/v1/audit/events")
async def event_feed(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    before = visible_event_keys(m, persona, t, m.events[t])
    number = m.rows[t].municipality_number
    body = await _listed(http, w, persona, f"/api/v1/audit/events?limit=500&municipality={number}")
    listed = {(e["transition_id"], e["seq"]) for e in body["items"] if e["transition_id"] == t}
    after = (await events_of(db, [t]))[t]
    assert before <= listed <= visible_event_keys(m, persona, t, after)
    if Part.CLINICAL not in given(m, persona, t):
        mine = [e for e in body["items"] if e["transition_id"] == t]
        assert all(set(e["detail"]) <= PROCESS_DETAIL_KEYS for e in mine)


@check("GET /api/v1/audit/stalled", list(READY))
async def stalled(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    body = await _listed(http, w, persona, "/api/v1/audit/stalled")
    assert (t in {s["transition_id"] for s in body}) == bool(given(m, persona, t))


def _emergency_expected(m: Facts, persona: str, t: str) -> int:
    if not is_health_worker(m.readers[persona], m.units):
        return 403
    return 409 if Relation.CARE in found(m, persona, t) else 201


@check("POST /api/v1/transitions/{transition_id}/emergency-access")
async def emergency_refused(
    w: World, m: Facts, http: httpx.AsyncClient, db: Database, persona: str, t: str
) -> None:
    """The refusals are tried here; the grants the model allows, at the end of the module."""
    expected = _emergency_expected(m, persona, t)
    if expected == 201:
        return
    path = f"/api/v1/transitions/{t}/emergency-access"
    answer = await http.post(path, json={"reason": "Prøver"}, headers=w.headers(persona))
    assert answer.status_code == expected, answer.text


def _transition_cases() -> list[Any]:
    return [
        pytest.param(name, persona, label, id=f"{name}-{persona}-{label}")
        for name, (_, labels) in PER_TRANSITION.items()
        for persona in PERSONAS
        for label in labels
    ]


@pytest.mark.parametrize(("name", "persona", "label"), _transition_cases())
async def test_matrix(
    name: str,
    persona: str,
    label: str,
    world: World,
    model: Facts,
    app_client: httpx.AsyncClient,
    db: Database,
) -> None:
    fn = globals()[name]
    await fn(world, model, app_client, db, persona, world.transitions[label])


# --- per reader -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
async def test_portfolio_progress(
    persona: str, world: World, model: Facts, app_client: httpx.AsyncClient
) -> None:
    t = world.transitions["transfer_nav"]
    answer = await app_client.get(
        f"/api/v1/portfolio-transfers/{world.transfer_id}", headers=world.headers(persona)
    )
    assert answer.status_code == (200 if given(model, persona, t) else 403), answer.text
    if answer.status_code == 200:
        steps = visible_steps(model, persona, t)
        [item] = answer.json()["handovers"]
        assert (item["task_status"] is not None) == bool(steps)


@pytest.mark.parametrize("persona", PERSONAS)
async def test_emergency_follow_up_list(
    persona: str, world: World, model: Facts, app_client: httpx.AsyncClient
) -> None:
    grantee = model.readers["emergency"].member_of
    t = model.transitions[world.transitions["objects"]]
    expected = persona == "emergency" or follows_up(
        model.readers[persona], grantee, t.origin_unit_id, model.units
    )
    answer = await app_client.get("/api/v1/emergency-access", headers=world.headers(persona))
    assert answer.status_code == 200, answer.text
    assert (world.grant_id in {g["id"] for g in answer.json()}) == expected


@pytest.mark.parametrize("persona", PERSONAS)
async def test_notifications_name_only_what_the_reader_sees(
    persona: str, world: World, model: Facts, app_client: httpx.AsyncClient
) -> None:
    answer = await app_client.get("/api/v1/notifications", headers=world.headers(persona))
    assert answer.status_code == 200, answer.text
    for note in answer.json():
        t = note["transition_id"]
        if t not in model.transitions:
            continue  # another test's transition: this world's model does not know it
        assert given(model, persona, t), note
        if note["task_id"] is not None:
            assert note["task_id"] in visible_steps(model, persona, t), note


# --- the acts the model allows, last: they change the world -------------------------------


async def test_the_model_allows_emergency_access_exactly_where_it_says(
    world: World, model: Facts, app_client: httpx.AsyncClient
) -> None:
    allowed = [
        (persona, label)
        for persona in PERSONAS
        for label in TRANSITIONS
        if _emergency_expected(model, persona, world.transitions[label]) == 201
    ]
    assert allowed, "some health workers stand outside some transitions' care"
    for persona, label in allowed:
        t = world.transitions[label]
        path = f"/api/v1/transitions/{t}/emergency-access"
        opened = await app_client.post(
            path, json={"reason": "Akutt"}, headers=world.headers(persona)
        )
        assert opened.status_code == 201, (persona, label, opened.text)
        read = await app_client.get(f"/api/v1/transitions/{t}", headers=world.headers(persona))
        assert read.status_code == 200 and "emergency" in read.json()["relations"]


def test_matrix_size() -> None:
    routes = matrix_routes()
    assert routes == READ_ROUTES, "every route reading patient data is in the matrix"
    cases = len(_transition_cases()) + 3 * len(PERSONAS) + 1
    print(
        f"\naccess matrix: {len(routes)} routes x {len(PERSONAS)} readers x "
        f"{len(TRANSITIONS)} transitions; {cases} generated cases"
    )
    assert cases > len(routes) * len(PERSONAS)


def matrix_routes() -> set[str]:
    return {route for route, _ in PER_TRANSITION.values()} | {
        "GET /api/v1/portfolio-transfers/{transfer_id}",
        "GET /api/v1/emergency-access",
        "GET /api/v1/notifications",
    }
