"""A handover nobody picks up, driven through every level of a wall-clock policy of seconds.

Real parts only: the worker sends e-mail to an aiosmtpd server and signed webhooks to an
HTTP receiver in a thread; the test reads what arrived and the timeline the API returns.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from channels import address_of, make_reachable
from mail_sink import SmtpServer
from sqlalchemy import select
from webhook_receiver import WebhookReceiver

from domain.escalation import Channel, EscalationLevel, Recipient
from store.database import Database
from store.tables import NotificationRow

from factories import DirectoryFactory, start_discharge
from polling import eventually

TIMELINE_FILE = Path(__file__).resolve().parents[2] / "test-output" / "escalation-timeline.json"
WEBHOOK_SECRET = "whsec-intake-test"
ALL = (Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK)


def journey_levels() -> list[dict[str, Any]]:
    """Three on-call levels of 3 s, each reminding about every 1.2–1.5 s."""

    def level(
        notify: tuple[Recipient, ...], channels: tuple[Channel, ...], repeat: float
    ) -> dict[str, Any]:
        return EscalationLevel(
            wait=timedelta(seconds=3),
            business_time=False,
            reach_on_call_now=True,
            notify=notify,
            channels=channels,
            repeat_every=timedelta(seconds=repeat),
        ).model_dump(mode="json")

    return [
        level((Recipient.OWNER_UNIT,), ALL, 1.2),
        level((Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER), ALL[:2], 1.2),
        level((Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER), ALL, 1.5),
    ]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    receiver.start()
    yield receiver
    receiver.stop()


async def transition(
    http: httpx.AsyncClient, directory: DirectoryFactory, transition_id: str
) -> dict[str, Any]:
    response = await http.get(
        f"/api/v1/transitions/{transition_id}",
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def notifications(db: Database, transition_id: str) -> list[NotificationRow]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(NotificationRow)
            .where(NotificationRow.transition_id == transition_id)
            .order_by(NotificationRow.id)
        )
        return list(rows)


def received(rows: list[NotificationRow], person_id: str, channel: Channel) -> set[tuple[str, int]]:
    """(reason, level) of what one person received on one channel."""
    return {
        (r.reason, r.level)
        for r in rows
        if r.person_id == person_id and r.channel == channel.value and r.sent_at is not None
    }


def events(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in body["timeline"] if e["kind"] == kind]


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


async def test_unacknowledged_handover_escalates_through_every_level(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    who = directory.identity
    await make_reachable(db, directory, webhook_receiver.url, WEBHOOK_SECRET)
    await directory.set_policy(journey_levels(), version=2)
    body = directory.discharge_body()
    started = await start_discharge(app_client, directory, **body)
    task_id = started["tasks"][0]["id"]

    async def last_level_reminded() -> dict[str, Any] | None:
        detail = await transition(app_client, directory, started["id"])
        reminded = [e for e in events(detail, "reminded") if e["detail"]["level"] == "2"]
        return detail if reminded else None

    await eventually(last_level_reminded, timeout=45, what="a reminder at the last level")
    acknowledged = await app_client.post(
        f"/api/v1/tasks/{task_id}/acknowledge", headers=directory.headers(who.contact)
    )
    assert acknowledged.status_code == 200, acknowledged.text
    await asyncio.sleep(0.5)  # a send decided before the acknowledgement may still be landing
    before = await notifications(db, started["id"])
    await asyncio.sleep(3.5)  # more than two reminder periods of the last level
    detail = await transition(app_client, directory, started["id"])
    rows = await notifications(db, started["id"])

    # Acknowledgement stopped the chain: nothing new was sent, nothing is scheduled.
    assert len(rows) == len(before)
    acked_at = at(events(detail, "task_acknowledged")[0])
    assert all(at(e) < acked_at for e in events(detail, "reminded") + events(detail, "escalated"))
    assert detail["tasks"][0]["escalation_level"] == 2
    assert detail["tasks"][0]["next_escalation_at"] is None

    # Levels in order, each after its wait (3 s) had run out.
    escalations = events(detail, "escalated")
    assert [e["detail"]["level"] for e in escalations] == ["1", "2"]
    created = at(events(detail, "task_created")[0])
    assert at(escalations[0]) - created >= timedelta(seconds=3)
    assert at(escalations[1]) - at(escalations[0]) >= timedelta(seconds=3)
    reminded_levels = [e["detail"]["level"] for e in events(detail, "reminded")]
    assert reminded_levels == sorted(reminded_levels)
    assert {"0", "1", "2"} <= set(reminded_levels)

    # Who received what, on which channel.
    for channel in (Channel.IN_APP, Channel.EMAIL):
        contact = received(rows, who.contact, channel)
        assert ("new_task", 0) in contact and ("reminder", 0) in contact
        assert {level for _, level in contact} == {0}
        for person in (who.backup, who.unit_leader):
            assert received(rows, person, channel) >= {("escalation", 1), ("reminder", 1)}
            assert {level for _, level in received(rows, person, channel)} == {1}
        for person in (who.municipal_leader, who.origin_leader):
            assert received(rows, person, channel) >= {("escalation", 2), ("reminder", 2)}
        assert received(rows, who.coordinator, channel) == set()

    check_mail(smtp_server, who.contact, task_id, body, rows)
    check_mail(smtp_server, who.unit_leader, task_id, body, rows)
    check_webhooks(webhook_receiver, rows, task_id)
    check_notified_events(detail, rows)
    save_timeline(detail)


def check_mail(
    smtp: SmtpServer,
    person_id: str,
    task_id: str,
    body: dict[str, Any],
    rows: list[NotificationRow],
) -> None:
    """Every e-mail row arrived at the SMTP server once, with a link and no patient data."""
    mails = smtp.sink.to(address_of(person_id))
    sent = [r for r in rows if r.person_id == person_id and r.channel == "email"]
    assert len(mails) == len(sent) > 0
    for mail in mails:
        assert f"/tasks/{task_id}" in mail.body
        assert "kommunens mottak" in mail.message["Subject"]
        text = mail.body + str(mail.message["Subject"])
        assert body["patient"]["name"] not in text
        assert body["patient"]["fodselsnummer"] not in text
    subjects = {str(m.message["Subject"]).split(":")[0] for m in mails}
    assert subjects <= {"Ny oppgave", "Påminnelse", "Eskalert oppgave"}


def check_webhooks(receiver: WebhookReceiver, rows: list[NotificationRow], task_id: str) -> None:
    """Signed deliveries to the unit's URL, one per webhook row, each verified by the receiver."""
    hooks = receiver.received
    assert hooks and all(hook.accepted for hook in hooks), [h.refusal for h in hooks]
    webhook_rows = [r for r in rows if r.channel == "webhook"]
    assert sorted(h.delivery_id for h in hooks) == sorted(r.key for r in webhook_rows)
    assert {h.body["task_id"] for h in hooks} == {task_id}
    assert {(h.body["type"], h.body["level"]) for h in hooks} >= {
        ("task.new_task", 0),
        ("task.reminder", 0),
        ("task.escalation", 2),
    }
    assert all(r.level != 1 for r in webhook_rows)  # level 1 has no webhook channel
    # A replayed delivery is refused by the same check the receiver applies.
    replay = receiver.check(hooks[0].raw, hooks[0].signature.replace("t=", "t=1"), "replay")
    assert not replay.accepted


def check_notified_events(detail: dict[str, Any], rows: list[NotificationRow]) -> None:
    """The timeline shows every delivery: channel, person (or unit) and when it went out."""
    notified = events(detail, "notified")
    shown = {(e["detail"]["channel"], e["detail"]["person_id"] or None) for e in notified}
    assert shown == {(r.channel, r.person_id) for r in rows}
    assert len(notified) == len(rows)
    for event in notified:
        assert event["detail"]["sent_at"], event
        assert event["detail"]["channel"] in {"in_app", "email", "webhook"}
    assert {e["detail"]["channel"] for e in notified} == {"in_app", "email", "webhook"}


def save_timeline(detail: dict[str, Any]) -> None:
    TIMELINE_FILE.parent.mkdir(exist_ok=True)
    TIMELINE_FILE.write_text(json.dumps(detail, indent=2, ensure_ascii=False))
    print(f"\nescalation timeline ({len(detail['timeline'])} events) -> {TIMELINE_FILE}")
    for event in detail["timeline"]:
        d = event["detail"]
        sent = d.get("sent_at", "")[11:23]
        print(
            f"  {event['at'][11:23]} {event['kind']:<18} level={d.get('level', ''):<2}"
            f" {d.get('channel', d.get('notify', '')):<32} {sent:<13}"
            f" {d.get('person_id') or d.get('unit_id', '')}"
        )


async def test_acknowledgement_at_a_middle_level_stops_escalation(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    webhook_receiver: WebhookReceiver,
) -> None:
    who = directory.identity
    await make_reachable(db, directory, webhook_receiver.url, WEBHOOK_SECRET)
    await directory.set_policy(journey_levels(), version=2)
    started = await start_discharge(app_client, directory)
    task_id = started["tasks"][0]["id"]

    async def at_level_one() -> bool:
        detail = await transition(app_client, directory, started["id"])
        return any(e["detail"]["level"] == "1" for e in events(detail, "escalated"))

    await eventually(at_level_one, timeout=30, what="escalation to level 1")
    # The backup contact, reached at level 1, acknowledges for the unit.
    acknowledged = await app_client.post(
        f"/api/v1/tasks/{task_id}/acknowledge", headers=directory.headers(who.backup)
    )
    assert acknowledged.status_code == 200, acknowledged.text
    await asyncio.sleep(4)  # longer than level 1's wait
    detail = await transition(app_client, directory, started["id"])
    rows = await notifications(db, started["id"])
    assert [e["detail"]["level"] for e in events(detail, "escalated")] == ["1"]
    assert detail["tasks"][0]["escalation_level"] == 1
    assert detail["tasks"][0]["acknowledged_by"] == who.backup
    assert {r.level for r in rows} <= {0, 1}
    assert not [r for r in rows if r.person_id in (who.municipal_leader, who.origin_leader)]
