"""The HTTP contract around the routes: tokens (401), problem+json for bad input,
idempotent retries, HelseID-style claims and JWKS, and the Prometheus metrics."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select, update
from temporalio.client import Client

from api.auth.tokens import DEV_ISSUER, DEV_KEY_ID, InvalidToken, TokenVerifier
from foundation.settings import Settings
from overgang.app import attach, create_app
from overgang.embedded import free_port
from store.database import Database
from store.tables import Person, Transition

from factories import DirectoryFactory
from polling import eventually

PROBLEM = "application/problem+json"


def _dev_key(state_dir: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(
        (state_dir / "dev-issuer-key.pem").read_bytes(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _token(key: rsa.RSAPrivateKey, kid: str = DEV_KEY_ID, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": DEV_ISSUER, "aud": "overgang", "iat": now, "nbf": now, "exp": now + 600}
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def test_refused_tokens_are_401_problems(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, state_dir: Path
) -> None:
    person = directory.identity.contact
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "Signature verification failed": _token(foreign, sub=person),
        "expired": _token(_dev_key(state_dir), sub=person, exp=int(time.time()) - 60),
        "audience": _token(_dev_key(state_dir), sub=person, aud="another-service"),
        "issuer": _token(_dev_key(state_dir), sub=person, iss="https://evil.example"),
        "not in the directory": _token(_dev_key(state_dir), sub="nobody-at-all"),
        "not enough segments": "not-a-jwt",
    }
    for expected, token in cases.items():
        response = await app_client.get(
            "/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}
        )
        body = _assert_problem(response, 401)
        assert expected.lower() in body["detail"].lower(), (expected, body)
    basic = await app_client.get("/api/v1/tasks", headers={"Authorization": "Basic eDp5"})
    assert "Bearer" in _assert_problem(basic, 401)["detail"]


async def test_a_helseid_token_finds_the_person_by_hpr_number(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, state_dir: Path
) -> None:
    hpr = str(uuid.uuid4().int)[:9]
    async with db.transaction() as session:
        await session.execute(
            update(Person).where(Person.id == directory.identity.contact).values(hpr_number=hpr)
        )
    token = _token(
        _dev_key(state_dir),
        sub="pairwise-pseudonym-from-helseid",
        **{"helseid://claims/hpr/hpr_number": hpr},
    )
    response = await app_client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A real HTTP server publishing an issuer's JWKS, as HelseID does."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**jwk, "kid": "helseid-1", "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", key
    server.shutdown()


def test_oidc_issuer_tokens_are_checked_against_its_jwks(
    jwks_server: tuple[str, rsa.RSAPrivateKey], state_dir: Path
) -> None:
    issuer, key = jwks_server
    settings = Settings(environment="test", state_dir=state_dir, oidc_issuer=issuer)
    verifier = TokenVerifier(settings)
    claims = verifier.verify(
        _token(
            key,
            kid="helseid-1",
            iss=issuer,
            sub="abc",
            **{"helseid://claims/hpr/hpr_number": "1234567"},
        )
    )
    assert (claims.subject, claims.hpr_number, claims.issuer) == ("abc", "1234567", issuer)
    with pytest.raises(InvalidToken):
        verifier.verify(_token(_dev_key(state_dir), kid="helseid-1", iss=issuer, sub="abc"))
    with pytest.raises(InvalidToken):
        verifier.verify(_token(key, kid="helseid-1", iss=issuer, sub="abc", aud="other"))


async def test_bad_input_is_a_422_naming_the_field(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    contact = directory.headers(directory.identity.contact)
    cases = {
        "reason": ("POST", "/api/v1/tasks/x/reject", {}),
        "cursor": ("GET", "/api/v1/transitions?cursor=bm90LWEtY3Vyc29y", None),
        "limit": ("GET", "/api/v1/transitions?limit=0", None),
        "overdue": ("GET", "/api/v1/transitions?overdue=maybe", None),
        "status": ("GET", "/api/v1/transitions?status=sleeping", None),
        "idle_business_days": ("GET", "/api/v1/audit/stalled?idle_business_days=0", None),
    }
    for field, (method, path, body) in cases.items():
        response = await app_client.request(method, path, json=body, headers=contact)
        problem = _assert_problem(response, 422)
        assert field in [e["field"] for e in problem["errors"]], (field, problem)
        assert field in problem["detail"]


async def test_unknown_routes_and_methods_are_problems(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    contact = directory.headers(directory.identity.contact)
    _assert_problem(await app_client.get("/api/v1/nothing-here", headers=contact), 404)
    _assert_problem(await app_client.delete("/api/v1/tasks", headers=contact), 405)
    _assert_problem(await app_client.get("/api/v1/transitions/nope", headers=contact), 404)


async def _count_started(db: Database, coordinator: str) -> int:
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Transition).where(Transition.started_by == coordinator)
        )
        return int(count or 0)


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_retry_with_the_same_idempotency_key_starts_nothing_twice(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    coordinator = directory.identity.coordinator
    headers = {**directory.headers(coordinator), "Idempotency-Key": str(uuid.uuid4())}
    body = directory.discharge_body()
    before = (await app_client.get("/metrics")).text
    first = await app_client.post("/api/v1/discharges", json=body, headers=headers)
    assert first.status_code == 201, first.text
    # The contact acknowledges in between: the retry still gets the first answer, exactly.
    task_id = first.json()["tasks"][0]["id"]
    contact = directory.headers(directory.identity.contact)
    assert (
        await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=contact)
    ).is_success
    retry = await app_client.post("/api/v1/discharges", json=body, headers=headers)
    assert retry.status_code == 201
    assert retry.json() == first.json()

    async def registered() -> int:
        return await _count_started(db, coordinator)

    assert await eventually(registered, what="the transition in the read model") == 1
    reused = await app_client.post(
        "/api/v1/discharges", json=directory.discharge_body(), headers=headers
    )
    assert "Idempotency-Key" in _assert_problem(reused, 422)["detail"]

    after = (await app_client.get("/metrics")).text
    started = "overgang_transitions_started_total"
    assert (
        _metric(after, started, kind="discharge") - _metric(before, started, kind="discharge") == 1
    )


async def test_metrics_count_requests_by_route_without_a_token(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    contact = directory.headers(directory.identity.contact)
    await app_client.get("/api/v1/tasks", headers=contact)
    response = await app_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    requests = "overgang_http_requests_total"
    assert _metric(response.text, requests, method="GET", route="/api/v1/tasks", status="200") >= 1
    assert "overgang_http_request_duration_seconds_bucket" in response.text
    assert directory.identity.contact not in response.text


async def test_nul_characters_are_refused_naming_the_field(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    """PostgreSQL cannot store NUL: refused before anything (a workflow) could take it in."""
    coordinator = directory.headers(directory.identity.coordinator)
    query = await app_client.get("/api/v1/units?kind=%00", headers=coordinator)
    assert _assert_problem(query, 422)["errors"][0]["field"] == "kind"
    body = directory.discharge_body(what_matters="Å bo\u0000 hjemme")
    started = await app_client.post("/api/v1/discharges", json=body, headers=coordinator)
    assert _assert_problem(started, 422)["errors"][0]["field"] == "what_matters"


async def test_an_unreachable_identity_provider_is_a_503(
    db: Database, temporal: Client, state_dir: Path
) -> None:
    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens: the JWKS cannot be fetched
    settings = Settings(
        environment="test", state_dir=state_dir, oidc_issuer=issuer, oidc_client_id="overgang"
    )
    app = create_app(settings, database_url=db.url)
    attach(app, db, temporal)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _token(key, kid="helseid-1", iss=issuer, sub="someone")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://idp-down.test") as http:
        response = await http.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert "JWKS" in _assert_problem(response, 503)["detail"]
    assert response.headers["retry-after"].isdigit()
