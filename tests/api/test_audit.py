"""The audit log: every command and read of patient data is a row, written with its effect;
the hash chain has no forks, and `overgang audit verify` finds an edited or deleted row."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit
from store.audit import APPEND_LOCK_KEY, AuditRow
from store.database import Database
from store.tables import Transition

from factories import DirectoryFactory, fast_levels, start_discharge
from polling import eventually

ACK = "POST /api/v1/tasks/{task_id}/acknowledge"


async def _patient_of(db: Database, transition_id: str) -> str:
    async def probe() -> str | None:
        async with db.transaction() as session:
            row = await session.get(Transition, transition_id)
            return row.patient_id if row else None

    return await eventually(probe, what="the transition in the read model")


async def _rows(db: Database, **where: Any) -> list[AuditRow]:
    async with db.transaction() as session:
        query = select(AuditRow).order_by(AuditRow.id)
        for column, value in where.items():
            query = query.where(getattr(AuditRow, column) == value)
        return list(await session.scalars(query))


def _verify_cli(database_url: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OVERGANG_DATABASE_URL": database_url,
        "OVERGANG_ENVIRONMENT": "test",
        "OVERGANG_STATE_DIR": str(state_dir),
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("overgang")), "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a new interpreter importing the application: slow on a busy machine
        check=False,
    )


@asynccontextmanager
async def _tampering(db: Database) -> AsyncIterator[AsyncSession]:
    """A committed change behind the application's back (the trigger switched off), as an
    attacker with database access would make it; appends wait on the lock meanwhile."""
    async with db.transaction() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK_KEY})
        await session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        yield session
        await session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


async def test_commands_and_reads_are_audited_with_patient_and_purpose(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    started = await start_discharge(app_client, directory)
    patient_id = await _patient_of(db, started["id"])
    identity = directory.identity
    contact = directory.headers(identity.contact)
    assert (await app_client.get("/api/v1/tasks", headers=contact)).status_code == 200
    task_id = started["tasks"][0]["id"]
    ack = await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=contact)
    assert ack.status_code == 200
    leader = directory.headers(identity.municipal_leader)
    assert (await app_client.get(f"/api/v1/transitions/{started['id']}", headers=leader)).is_success

    rows = await _rows(db, patient_id=patient_id)
    seen = {(r.actor_id, r.action, r.purpose, r.outcome) for r in rows}
    assert (identity.coordinator, "POST /api/v1/discharges", "care", "ok") in seen
    assert (identity.contact, "inbox.read", "care", "ok") in seen
    assert (identity.contact, ACK, "care", "ok") in seen
    assert (
        identity.municipal_leader,
        "GET /api/v1/transitions/{transition_id}",
        "oversight",
        "ok",
    ) in seen
    assert all(r.transition_id == started["id"] for r in rows)


async def test_a_refused_command_leaves_no_ok_row(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    """The row is written in the request's transaction: no effect, no 'ok' row."""
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]
    contact = directory.headers(directory.identity.contact)
    assert (
        await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=contact)
    ).is_success
    again = await app_client.post(f"/api/v1/tasks/{task_id}/acknowledge", headers=contact)
    assert again.status_code == 409
    acks = await _rows(db, transition_id=started["id"], action=ACK)
    assert [(r.actor_id, r.outcome) for r in acks] == [(directory.identity.contact, "ok")]


async def test_access_log_shows_who_read_when_and_why(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    started = await start_discharge(app_client, directory)
    patient_id = await _patient_of(db, started["id"])
    leader = {
        **directory.headers(directory.identity.municipal_leader),
        "X-Access-Purpose": "avvikssak 2026-14",
    }
    assert (await app_client.get(f"/api/v1/transitions/{started['id']}", headers=leader)).is_success

    response = await app_client.get(
        f"/api/v1/patients/{patient_id}/access-log",
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 200, response.text
    entries = response.json()
    read = next(e for e in entries if e["actor_id"] == directory.identity.municipal_leader)
    assert read["purpose"] == "oversight: avvikssak 2026-14"
    assert read["action"] == "GET /api/v1/transitions/{transition_id}"
    assert read["at"]
    assert entries == sorted(entries, key=lambda e: e["at"], reverse=True)
    # Reading the access log is itself logged.
    rows = await _rows(db, patient_id=patient_id, actor_id=directory.identity.coordinator)
    assert "access_log.read" in {r.action for r in rows}


async def test_concurrent_appends_make_one_chain(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database
) -> None:
    await start_discharge(app_client, directory)
    contact = directory.headers(directory.identity.contact)
    answers = await asyncio.gather(
        *(app_client.get("/api/v1/tasks", headers=contact) for _ in range(12))
    )
    assert all(a.status_code == 200 for a in answers)
    async with db.transaction() as session:
        checked, broken = await audit.verify(session)
        count = await session.scalar(select(func.count()).select_from(AuditRow))
        forks = await session.scalar(
            select(func.count()).select_from(
                select(AuditRow.prev_hash)
                .group_by(AuditRow.prev_hash)
                .having(func.count() > 1)
                .subquery()
            )
        )
    assert broken is None
    assert checked == count
    assert forks == 0


async def test_the_database_refuses_updates_and_deletes(db: Database) -> None:
    for statement in ("UPDATE audit_log SET purpose = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text(statement))


async def test_verify_finds_an_edited_row(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    database_url: str,
    state_dir: Path,
) -> None:
    await start_discharge(app_client, directory)
    intact = _verify_cli(database_url, state_dir)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "intact" in intact.stdout
    assert "head: row" in intact.stdout
    victim = (await _rows(db, actor_id=directory.identity.coordinator))[-1]
    async with _tampering(db) as session:
        await session.execute(
            text("UPDATE audit_log SET purpose = 'curiosity' WHERE id = :id"), {"id": victim.id}
        )
    try:
        broken = _verify_cli(database_url, state_dir)
    finally:
        async with _tampering(db) as session:
            await session.execute(
                text("UPDATE audit_log SET purpose = :p WHERE id = :id"),
                {"p": victim.purpose, "id": victim.id},
            )
    assert broken.returncode == 1
    assert f"row {victim.id}" in broken.stdout
    assert "edited" in broken.stdout
    assert _verify_cli(database_url, state_dir).returncode == 0


async def test_verify_finds_a_deleted_row(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    database_url: str,
    state_dir: Path,
) -> None:
    await start_discharge(app_client, directory)
    await start_discharge(app_client, directory)
    victim = (await _rows(db, actor_id=directory.identity.coordinator))[0]
    columns = {c.name: getattr(victim, c.name) for c in AuditRow.__table__.columns}
    async with _tampering(db) as session:
        await session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": victim.id})
    try:
        broken = _verify_cli(database_url, state_dir)
    finally:
        async with _tampering(db) as session:
            session.add(AuditRow(**columns))
    assert broken.returncode == 1
    assert f"row {victim.id + 1}" in broken.stdout
    assert "deleted" in broken.stdout
    assert _verify_cli(database_url, state_dir).returncode == 0


async def test_stalled_report_and_event_feed_show_an_escalated_transition(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    await directory.set_policy(fast_levels(seconds=1.5), version=2)
    started = await start_discharge(app_client, directory)
    leader = directory.headers(directory.identity.municipal_leader)

    async def stalled() -> dict[str, Any] | None:
        report = await app_client.get(
            f"/api/v1/audit/stalled?municipality={directory.number}", headers=leader
        )
        assert report.status_code == 200, report.text
        found = [i for i in report.json() if i["transition_id"] == started["id"]]
        return found[0] if found and "escalated" in found[0]["reasons"] else None

    item = await eventually(stalled, timeout=30, what="the transition in the stalled report")
    assert item["max_escalation_level"] >= 1
    assert item["open_tasks"] >= 1
    feed = await app_client.get(
        f"/api/v1/audit/events?kind=escalated&unit={directory.intake}", headers=leader
    )
    assert feed.status_code == 200
    assert started["id"] in {e["transition_id"] for e in feed.json()["items"]}
    assert {e["kind"] for e in feed.json()["items"]} == {"escalated"}
