"""A handover nobody picks up, driven through every level of an around-the-clock policy of
hours, in virtual time (Temporal's time-skipping server): each level and reminder fires at
the moment its policy gives, and after an acknowledgement hours pass without another word.

Real parts only: the worker sends e-mail to an aiosmtpd server and signed webhooks to an
HTTP receiver in a thread; the test reads what arrived and the timeline the API returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from channels import address_of, make_reachable
from mail_sink import SmtpServer
from sqlalchemy import select
from virtual_stack import SLACK, VirtualStack
from webhook_receiver import WebhookReceiver

from domain.escalation import Channel, EscalationLevel, Recipient
from store.database import Database
from store.tables import NotificationRow

from factories import DirectoryFactory, start_discharge, transition_detail

TIMELINE_FILE = Path(__file__).resolve().parents[2] / "test-output" / "escalation-timeline.json"
WEBHOOK_SECRET = "whsec-intake-test"
ALL = (Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK)


LEVEL = timedelta(hours=1)
REMINDERS = (timedelta(minutes=25), timedelta(minutes=25), timedelta(minutes=30))
Link = tuple[str, str, datetime]  # (escalated or reminded, level, when)


def journey_levels() -> list[dict[str, Any]]:
    """Three on-call levels of an hour; reminders every 25 min (the last level every 30)."""

    def level(
        notify: tuple[Recipient, ...], channels: tuple[Channel, ...], repeat: timedelta
    ) -> dict[str, Any]:
        return EscalationLevel(
            wait=LEVEL,
            business_time=False,
            reach_on_call_now=True,
            notify=notify,
            channels=channels,
            repeat_every=repeat,
        ).model_dump(mode="json")

    return [
        level((Recipient.OWNER_UNIT,), ALL, REMINDERS[0]),
        level((Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER), ALL[:2], REMINDERS[1]),
        level((Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER), ALL, REMINDERS[2]),
    ]


def expected_chain(created: datetime, until: datetime, escalated: list[datetime]) -> list[Link]:
    """Every escalation and reminder the policy gives up to `until`: each level starts when
    its escalation happened (`escalated`), which must be one LEVEL after the level before."""
    starts = [created, *escalated]
    for before, start in pairwise(starts):
        assert timedelta(0) <= start - (before + LEVEL) < SLACK, (before, start)
    chain: list[Link] = []
    for level, start in enumerate(starts):
        if level > 0:
            chain.append(("escalated", str(level), start))
        end = starts[level + 1] if level + 1 < len(starts) else until
        n = 1
        while start + n * REMINDERS[level] < end:
            chain.append(("reminded", str(level), start + n * REMINDERS[level]))
            n += 1
    return chain


def chain_of(body: dict[str, Any]) -> list[Link]:
    return [
        (e["kind"], e["detail"]["level"], at(e))
        for e in body["timeline"]
        if e["kind"] in ("escalated", "reminded")
    ]


def on_time(actual: list[Link], expected: list[Link]) -> bool:
    """The same links in the same order, each within SLACK after its moment."""
    return len(actual) == len(expected) and all(
        a[:2] == e[:2] and timedelta(0) <= a[2] - e[2] < SLACK
        for a, e in zip(actual, expected, strict=True)
    )


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    receiver.start()
    yield receiver
    receiver.stop()


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
    virtual: VirtualStack,
    directory: DirectoryFactory,
    db: Database,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    who = directory.identity
    await make_reachable(db, directory, webhook_receiver.url, WEBHOOK_SECRET)
    await directory.set_policy(journey_levels(), version=2)
    body = directory.discharge_body()
    started = await start_discharge(virtual.http, directory, **body)
    task_id = started["tasks"][0]["id"]
    created = datetime.fromisoformat(started["tasks"][0]["created_at"])

    # Past the last level's first reminder (2 h 30 min), short of its second.
    await virtual.advance_to(created + 2 * LEVEL + REMINDERS[2] + timedelta(minutes=10))
    detail = await transition_detail(virtual.http, directory, started["id"])
    chain = chain_of(detail)
    escalated = [at(e) for e in events(detail, "escalated")]
    assert len(escalated) == 2, chain
    assert on_time(chain, expected_chain(created, await virtual.now(), escalated)), chain
    before = await notifications(db, started["id"])
    acknowledged = await virtual.http.post(
        f"/api/v1/tasks/{task_id}/acknowledge", headers=directory.headers(who.contact)
    )
    assert acknowledged.status_code == 200, acknowledged.text

    await virtual.advance(2 * REMINDERS[2] + timedelta(minutes=10))  # two reminder periods
    detail = await transition_detail(virtual.http, directory, started["id"])
    rows = await notifications(db, started["id"])

    # Acknowledgement stopped the chain: nothing new was sent, nothing is scheduled.
    assert chain_of(detail) == chain
    assert [r.key for r in rows] == [r.key for r in before]
    assert detail["tasks"][0]["escalation_level"] == 2
    assert detail["tasks"][0]["next_escalation_at"] is None

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
        assert f"/oppgaver/{task_id}" in mail.body
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
    virtual: VirtualStack,
    directory: DirectoryFactory,
    db: Database,
    webhook_receiver: WebhookReceiver,
) -> None:
    who = directory.identity
    await make_reachable(db, directory, webhook_receiver.url, WEBHOOK_SECRET)
    await directory.set_policy(journey_levels(), version=2)
    started = await start_discharge(virtual.http, directory)
    task_id = started["tasks"][0]["id"]
    created = datetime.fromisoformat(started["tasks"][0]["created_at"])

    await virtual.advance_to(created + LEVEL + timedelta(minutes=10))  # at level 1
    detail = await transition_detail(virtual.http, directory, started["id"])
    assert [e["detail"]["level"] for e in events(detail, "escalated")] == ["1"]
    # The backup contact, reached at level 1, acknowledges for the unit.
    acknowledged = await virtual.http.post(
        f"/api/v1/tasks/{task_id}/acknowledge", headers=directory.headers(who.backup)
    )
    assert acknowledged.status_code == 200, acknowledged.text

    await virtual.advance(3 * LEVEL)  # past the moment level 2 would have started
    detail = await transition_detail(virtual.http, directory, started["id"])
    rows = await notifications(db, started["id"])
    assert [e["detail"]["level"] for e in events(detail, "escalated")] == ["1"]
    assert detail["tasks"][0]["escalation_level"] == 1
    assert detail["tasks"][0]["acknowledged_by"] == who.backup
    assert {r.level for r in rows} <= {0, 1}
    assert not [r for r in rows if r.person_id in (who.municipal_leader, who.origin_leader)]
