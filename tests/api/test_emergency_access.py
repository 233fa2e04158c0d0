"""Emergency access (blålys): a health worker outside the care relation opens a transition
with a stated reason, reads it (and its child handovers) for a limited time, is logged as
emergency access in the patient's access log, and a leader follows the grant up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from foundation.settings import Settings
from overgang.app import attach, create_app
from store.database import Database
from store.tables import Transition

from factories import DirectoryFactory, start_discharge
from polling import eventually

REASON = "Pasienten er innlagt akutt på legevakt, trenger oversikt over oppfølgingen."


@dataclass
class Case:
    home: DirectoryFactory
    other: DirectoryFactory
    discharge: str
    child: str
    patient_id: str


async def _child_of(db: Database, parent: str) -> str | None:
    async with db.transaction() as session:
        return await session.scalar(
            select(Transition.id).where(
                Transition.details["parent_transition_id"].as_string() == parent
            )
        )


@pytest.fixture(scope="module")
async def case(db: Database, settings: Settings, app_client: httpx.AsyncClient) -> Case:
    home, other = DirectoryFactory(db, settings), DirectoryFactory(db, settings)
    await home.create()
    await other.create()
    started = await start_discharge(
        app_client, home, needs={"housing": True}, consents={"share_with_housing_office": True}
    )
    child = await eventually(lambda: _child_of(db, started["id"]), what="the housing handover")
    async with db.transaction() as session:
        row = await session.get(Transition, started["id"])
        assert row is not None
    return Case(home, other, started["id"], child, row.patient_id)


def _open(case: Case, body: dict[str, object] | None = None) -> tuple[str, dict[str, object]]:
    path = f"/api/v1/transitions/{case.discharge}/emergency-access"
    return path, body if body is not None else {"reason": REASON, "purpose": "legevakt"}


async def test_a_health_worker_outside_the_relation_opens_it_with_a_reason(
    case: Case, app_client: httpx.AsyncClient
) -> None:
    outsider = case.home.headers(case.home.identity.outsider)  # home care, same municipality
    detail = f"/api/v1/transitions/{case.discharge}"
    assert (await app_client.get(detail, headers=outsider)).status_code == 403
    path, body = _open(case, {"purpose": "legevakt"})
    missing = await app_client.post(path, json=body, headers=outsider)
    assert missing.status_code == 422, missing.text
    assert missing.json()["errors"][0]["field"] == "reason"
    path, body = _open(case)
    opened = await app_client.post(path, json=body, headers=outsider)
    assert opened.status_code == 201, opened.text
    grant = opened.json()
    lasts = datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(
        grant["granted_at"]
    )
    assert lasts == timedelta(hours=4)
    read = await app_client.get(detail, headers=outsider)
    assert read.status_code == 200, read.text
    assert read.json()["relations"] == ["emergency"]
    assert read.json()["what_matters"], "emergency access reads as care"
    assert [c["id"] for c in read.json()["children"]] == [case.child]
    child = await app_client.get(f"/api/v1/transitions/{case.child}", headers=outsider)
    assert child.status_code == 200, "the grant covers the child handovers"
    assert child.json()["relations"] == ["emergency"]


async def test_only_health_workers_without_care_may_open_it(
    case: Case, app_client: httpx.AsyncClient, db: Database
) -> None:
    path, body = _open(case)
    nav = await case.home.add_person("nav-blalys", ["municipal_contact"], case.home.nav)
    admin = await case.home.add_person("admin-blalys", ["administrator"], case.home.other_unit)
    for person in (nav, admin, case.home.identity.municipal_leader):
        refused = await app_client.post(path, json=body, headers=case.home.headers(person))
        assert refused.status_code == 403, (person, refused.text)
    coordinator = case.home.headers(case.home.identity.coordinator)
    needless = await app_client.post(path, json=body, headers=coordinator)
    assert needless.status_code == 409, needless.text
    assert "care" in needless.json()["detail"]


async def test_the_access_log_shows_the_emergency_access_with_its_reason(
    case: Case, app_client: httpx.AsyncClient
) -> None:
    outsider = case.home.identity.outsider
    log = await app_client.get(
        f"/api/v1/patients/{case.patient_id}/access-log",
        headers=case.home.headers(case.home.identity.coordinator),
    )
    assert log.status_code == 200, log.text
    theirs = [e for e in log.json() if e["actor_id"] == outsider]
    refused = [e for e in theirs if e["outcome"] == "refused"]
    assert refused, "the read refused before the grant is in the log"
    emergency = [e for e in theirs if e["outcome"] == "ok"]
    assert emergency and all(e["purpose"].startswith("emergency") for e in emergency)
    assert all(e["reason"] == REASON for e in emergency), emergency
    assert {"POST /api/v1/transitions/{transition_id}/emergency-access"} <= {
        e["action"] for e in emergency
    }


async def test_the_leaders_follow_the_grant_up(case: Case, app_client: httpx.AsyncClient) -> None:
    home = case.home

    async def listed(person: str, query: str = "") -> set[str]:
        answer = await app_client.get(
            f"/api/v1/emergency-access{query}", headers=home.headers(person)
        )
        assert answer.status_code == 200, answer.text
        return {g["transition_id"] for g in answer.json()}

    # The outsider's home-care unit is overseen by the municipal leader and its unit leader;
    # the transition was started by the DPS its leader leads. Another town's leader: no.
    for leader in (home.identity.municipal_leader, home.identity.origin_leader):
        assert case.discharge in await listed(leader)
    other_leader = case.other.headers(case.other.identity.municipal_leader)
    others = await app_client.get("/api/v1/emergency-access", headers=other_leader)
    assert case.discharge not in {g["transition_id"] for g in others.json()}
    [grant] = [
        g
        for g in (
            await app_client.get(
                "/api/v1/emergency-access", headers=home.headers(home.identity.outsider)
            )
        ).json()
        if g["transition_id"] == case.discharge
    ]
    path = f"/api/v1/emergency-access/{grant['id']}/follow-up"
    own = await app_client.post(path, json={}, headers=home.headers(home.identity.outsider))
    assert own.status_code == 403, "nobody follows up their own emergency access"
    chief = home.headers(home.identity.municipal_leader)
    done = await app_client.post(path, json={"note": "Begrunnet, i orden."}, headers=chief)
    assert done.status_code == 200, done.text
    assert done.json()["followed_up_by"] == home.identity.municipal_leader
    assert (await app_client.post(path, json={}, headers=chief)).status_code == 409
    assert case.discharge not in await listed(home.identity.municipal_leader, "?open=true")


@pytest.fixture
async def brief_grants(
    settings: Settings, db: Database, temporal: Client
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with grants lasting two seconds, to see one expire."""
    short = settings.model_copy(update={"emergency_access_for": timedelta(seconds=2)})
    app = create_app(short, database_url=db.url)
    attach(app, db, temporal)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://overgang.test") as client:
        yield client


async def test_a_grant_expires(case: Case, brief_grants: httpx.AsyncClient) -> None:
    person = await case.home.add_person(
        "hjemmesykepleier", ["municipal_contact"], case.home.other_unit
    )
    headers = case.home.headers(person)
    path, body = _open(case)
    assert (await brief_grants.post(path, json=body, headers=headers)).status_code == 201
    detail = f"/api/v1/transitions/{case.discharge}"
    assert (await brief_grants.get(detail, headers=headers)).status_code == 200

    async def refused() -> bool:
        return (await brief_grants.get(detail, headers=headers)).status_code == 403

    await eventually(refused, timeout=15, what="the grant to expire")


async def test_a_blank_reason_opens_nothing(case: Case, app_client: httpx.AsyncClient) -> None:
    """A reason of only spaces states nothing: refused like a missing one, and no grant."""
    person = await case.home.add_person("blank-reason", ["municipal_contact"], case.home.other_unit)
    headers = case.home.headers(person)
    path, _ = _open(case)
    for blank in ("   ", "\n\t "):
        refused = await app_client.post(path, json={"reason": blank}, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "reason"
    detail = await app_client.get(f"/api/v1/transitions/{case.discharge}", headers=headers)
    assert detail.status_code == 403, "no grant was written"
    grants = await app_client.get("/api/v1/emergency-access", headers=headers)
    assert [g for g in grants.json() if g["person_id"] == person] == []
