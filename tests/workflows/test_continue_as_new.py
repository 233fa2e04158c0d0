"""A discharge that waits long enough to continue as new, on its own dev server whose
history limit suggests continue-as-new after 50 events: its state, timers and commands carry
over to the next run, and the read model sees one unbroken timeline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from foundation.settings import Settings
from overgang.embedded import TemporalDevServer, free_port
from store.database import Database
from store.tables import Person
from workflows.search_attributes import cli_flags

from factories import DirectoryFactory, fast_levels, start_discharge
from polling import eventually
from stacks import stack_on, timeline


@pytest.fixture(scope="module")
async def small_history_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TemporalDevServer]:
    folder: Path = tmp_path_factory.mktemp("temporal-can")
    server = TemporalDevServer(
        folder / "temporal.db",
        port=free_port(),
        ui_port=None,
        search_attributes=cli_flags(),
        log_file=folder / "temporal.log",
        dynamic_config={"limit.historyCount.suggestContinueAsNew": "50"},
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def can_stack(
    small_history_server: TemporalDevServer, settings: Settings, db: Database
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """Worker and API against the small-history server; waiting days of 2 s (shorter days
    keep a busy machine's read-model writes back to back, and continue-as-new waits for a
    moment without one)."""
    async with stack_on(
        small_history_server, settings, db, waiting_day_length=timedelta(seconds=2)
    ) as stack:
        yield stack


async def test_long_wait_continues_as_new_and_carries_everything_over(
    can_stack: tuple[httpx.AsyncClient, Client], directory: DirectoryFactory
) -> None:
    http, client = can_stack
    coordinator = directory.headers(directory.identity.coordinator)
    contact = directory.headers(directory.identity.contact)
    started = await http.post(
        "/api/v1/discharges", json=directory.discharge_body(), headers=coordinator
    )
    assert started.status_code == 201, started.text
    transition_id, workflow_id = started.json()["id"], started.json()["workflow_id"]
    intake = started.json()["tasks"][0]["id"]
    first_run = (await client.get_workflow_handle(workflow_id).describe()).run_id
    ready = await http.post(
        f"/api/v1/transitions/{transition_id}/ready-for-discharge", headers=coordinator
    )
    assert ready.status_code == 200, ready.text

    async def continued() -> str | None:
        run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
        return run_id if run_id != first_run else None

    await eventually(continued, timeout=180, what="a continue-as-new")
    old_history = await client.get_workflow_handle(workflow_id, run_id=first_run).fetch_history()
    assert (
        old_history.events[-1].event_type
        == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    )

    # The new run goes on counting where the old one stopped, and answers commands.
    days_before = len(await waiting_days(http, coordinator, transition_id))
    for command in ("acknowledge", "accept"):
        response = await http.post(f"/api/v1/tasks/{intake}/{command}", headers=contact)
        assert response.status_code == 200, response.text
    assert (
        await http.post(f"/api/v1/transitions/{transition_id}/discharged", headers=coordinator)
    ).status_code == 200
    contacted = await http.post(
        f"/api/v1/transitions/{transition_id}/first-contact",
        json={"contacted_on": date.today().isoformat()},
        headers=contact,
    )
    assert contacted.status_code == 200, contacted.text

    async def completed() -> dict[str, Any] | None:
        body = (await http.get(f"/api/v1/transitions/{transition_id}", headers=coordinator)).json()
        return body if body["status"] == "completed" else None

    body = await eventually(completed, timeout=30, what="the transition to complete")
    days = [int(e["detail"]["day"]) for e in body["timeline"] if e["kind"] == "waiting_day"]
    assert len(days) >= days_before
    assert days == list(range(1, len(days) + 1))  # no day lost or counted twice
    seqs = [e["seq"] for e in body["timeline"]]
    assert seqs == sorted(set(seqs))


async def waiting_days(
    http: httpx.AsyncClient, headers: dict[str, str], transition_id: str
) -> list[dict[str, Any]]:
    body = (await http.get(f"/api/v1/transitions/{transition_id}", headers=headers)).json()
    return [e for e in body["timeline"] if e["kind"] == "waiting_day"]


# --- what continue-as-new must not lose or repeat ---------------------------------------------


async def run_changed(client: Client, workflow_id: str, first_run: str) -> str | None:
    run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
    return run_id if run_id != first_run else None


async def test_an_overdue_step_is_flagged_once_across_continue_as_new(
    can_stack: tuple[httpx.AsyncClient, Client], directory: DirectoryFactory
) -> None:
    http, client = can_stack
    await directory.set_policy(fast_levels(seconds=1), version=2)  # intake due in 1 s
    coordinator = directory.headers(directory.identity.coordinator)
    started = await start_discharge(http, directory)
    tid, workflow_id = started["id"], started["workflow_id"]
    intake = started["tasks"][0]["id"]
    first_run = (await client.get_workflow_handle(workflow_id).describe()).run_id

    async def flagged() -> list[Any] | None:
        events = await timeline(http, coordinator, tid)
        return [e for e in events if e["kind"] == "task_overdue"] or None

    await eventually(flagged, timeout=30, what="the intake flagged overdue")
    ready = await http.post(f"/api/v1/transitions/{tid}/ready-for-discharge", headers=coordinator)
    assert ready.status_code == 200, ready.text  # waiting days of 0.4 s grow the history
    await eventually(
        lambda: run_changed(client, workflow_id, first_run), timeout=60, what="continue-as-new"
    )
    new_run = await client.get_workflow_handle(workflow_id).describe()

    async def two_days_in_the_new_run() -> bool:
        days = [
            e for e in await timeline(http, coordinator, tid)
            if e["kind"] == "waiting_day" and e["at"] > new_run.start_time.isoformat()
        ]  # fmt: skip
        return len(days) >= 2

    await eventually(two_days_in_the_new_run, timeout=30, what="the new run to count on")
    flags = [
        e for e in await timeline(http, coordinator, tid)
        if e["kind"] == "task_overdue" and e["task_id"] == intake
    ]  # fmt: skip
    assert len(flags) == 1, flags


class HeldMail:
    """An aiosmtpd handler that holds the first message until released, then answers it with
    a temporary failure (451); later messages are accepted."""

    def __init__(self) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        self.accepted: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.held.is_set():
            self.held.set()
            await asyncio.to_thread(self.release.wait)
            return "451 4.3.0 Try again later"
        self.accepted.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def held_mail() -> Iterator[tuple[HeldMail, int]]:
    handler, port = HeldMail(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    handler.release.set()
    controller.stop()


async def test_continue_as_new_waits_for_an_escalation_notice_in_flight(
    small_history_server: TemporalDevServer,
    settings: Settings,
    db: Database,
    directory: DirectoryFactory,
    held_mail: tuple[HeldMail, int],
) -> None:
    mail, port = held_mail
    levels = fast_levels(seconds=1)
    levels[1]["wait"] = "PT1H"  # level 1 (with e-mail) lasts while the history grows
    levels[1]["channels"] = ["in_app", "email"]
    await directory.set_policy(levels, version=2)
    leader = directory.identity.unit_leader
    async with db.transaction() as session:
        await session.execute(
            update(Person).where(Person.id == leader).values(email=f"{leader}@test.no")
        )
    async with stack_on(
        small_history_server,
        settings,
        db,
        waiting_day_length=timedelta(seconds=0.4),
        smtp_port=port,
        smtp_timeout_seconds=60,
    ) as (http, client):
        coordinator = directory.headers(directory.identity.coordinator)
        started = await start_discharge(http, directory)
        tid, workflow_id = started["id"], started["workflow_id"]
        handle = client.get_workflow_handle(workflow_id)
        first_run = (await handle.describe()).run_id
        ready = f"/api/v1/transitions/{tid}/ready-for-discharge"
        assert (await http.post(ready, headers=coordinator)).status_code == 200

        async def held() -> bool:
            return mail.held.is_set()

        await eventually(held, timeout=30, what="the escalation e-mail")

        async def continued_or_due() -> bool:
            description = await handle.describe()
            grown = description.raw_description.workflow_execution_info.history_length > 90
            return description.run_id != first_run or grown

        # Continue-as-new is due while the notice is in flight; then the server says 451.
        await eventually(continued_or_due, timeout=60, what="continue-as-new to be due")
        mail.release.set()

        async def delivered() -> list[Any] | None:
            events = await timeline(http, coordinator, tid)
            sent = [
                e for e in events
                if e["kind"] == "notified" and e["detail"].get("channel") == "email"
                and e["detail"].get("level") == "1"
            ]  # fmt: skip
            return sent or None

        [notice] = await eventually(delivered, timeout=30, what="the level-1 e-mail on record")
        assert notice["detail"]["person_id"] == leader
        assert [m["To"] for m in mail.accepted] == [f"{leader}@test.no"]
        await eventually(
            lambda: run_changed(client, workflow_id, first_run), timeout=60, what="the new run"
        )
