"""The notification activity run as Temporal runs it, twice: a retry sends nothing twice."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from channels import address_of, make_reachable
from mail_sink import SmtpServer
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment
from webhook_receiver import WebhookReceiver

from activities.notifications import NotificationActivities
from domain.escalation import Channel, Recipient
from domain.notifications import NotificationReason, NotificationRequest
from domain.tasks import TaskKind
from foundation.settings import Settings
from store import absences
from store import notifications as store
from store.database import Database
from store.tables import Membership, NotificationRow
from worker import notification_activities

from factories import DirectoryFactory

SECRET = "whsec-activity-test"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver(SECRET)
    running.start()
    yield running
    running.stop()


async def a_task(http: httpx.AsyncClient, directory: DirectoryFactory) -> tuple[str, str]:
    response = await http.post(
        "/api/v1/discharges",
        json=directory.discharge_body(),
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["tasks"][0]["id"]


def reminder(directory: DirectoryFactory, transition_id: str, task_id: str) -> NotificationRequest:
    return NotificationRequest(
        key=f"{task_id}:test-{uuid.uuid4().hex[:8]}",
        transition_id=transition_id,
        task_id=task_id,
        task_kind=TaskKind.MUNICIPAL_INTAKE,
        owner_unit_id=directory.intake,
        origin_unit_id=directory.dps,
        municipality_number=directory.number,
        reason=NotificationReason.REMINDER,
        level=0,
        recipients=(Recipient.OWNER_UNIT,),
        channels=(Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK),
    )


def activities(db: Database, settings: Settings) -> NotificationActivities:
    return notification_activities(db, settings)


async def rows_of(db: Database, key: str) -> list[NotificationRow]:
    async with db.transaction() as session:
        query = select(NotificationRow).where(NotificationRow.key.startswith(key))
        return list(await session.scalars(query.order_by(NotificationRow.key)))


def mails_for(smtp: SmtpServer, person_id: str, key: str) -> list[str]:
    marker = key.replace(":", ".")
    return [
        str(m.message["Message-ID"])
        for m in smtp.sink.to(address_of(person_id))
        if marker in str(m.message["Message-ID"])
    ]


async def test_a_retried_notification_sends_nothing_twice(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
    smtp_server: SmtpServer,
    receiver: WebhookReceiver,
) -> None:
    await make_reachable(db, directory, receiver.url, SECRET)
    transition_id, task_id = await a_task(app_client, directory)
    request = reminder(directory, transition_id, task_id)
    notify = activities(db, settings).notify

    first = await ActivityEnvironment().run(notify, request)
    again = await ActivityEnvironment().run(notify, request)

    assert again == first  # same deliveries, same sent_at: the retry found them sent
    assert {(d.channel, d.person_id) for d in first.deliveries} == {
        (Channel.IN_APP, directory.identity.contact),
        (Channel.EMAIL, directory.identity.contact),
        (Channel.WEBHOOK, None),
    }
    assert len(mails_for(smtp_server, directory.identity.contact, request.key)) == 1
    hooks = [h.delivery_id for h in receiver.accepted() if h.delivery_id.startswith(request.key)]
    assert hooks == [f"{request.key}:webhook:{directory.intake}"]
    assert [r.channel for r in await rows_of(db, request.key)] == ["email", "in_app", "webhook"]


async def test_a_delivery_recorded_but_not_sent_goes_out_on_retry(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
    smtp_server: SmtpServer,
    receiver: WebhookReceiver,
) -> None:
    """The crash window: the row was inserted, then the worker died before sending."""
    await make_reachable(db, directory, receiver.url, SECRET)
    transition_id, task_id = await a_task(app_client, directory)
    request = reminder(directory, transition_id, task_id).model_copy(
        update={"channels": (Channel.EMAIL,)}
    )
    key = f"{request.key}:email:{directory.identity.contact}"
    async with db.transaction() as session:
        await store.add_notification(
            session,
            key=key,
            person_id=directory.identity.contact,
            unit_id=directory.intake,
            channel="email",
            transition_id=transition_id,
            task_id=task_id,
            reason="reminder",
            level=0,
            created_at=datetime.now(UTC),
        )

    receipt = await ActivityEnvironment().run(activities(db, settings).notify, request)

    assert [d.channel for d in receipt.deliveries] == [Channel.EMAIL]
    assert len(mails_for(smtp_server, directory.identity.contact, request.key)) == 1
    [row] = await rows_of(db, request.key)
    assert row.sent_at is not None


async def test_a_refused_webhook_is_not_retried_and_not_reported_sent(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    await make_reachable(db, directory, receiver.url, "not-the-receivers-secret")
    transition_id, task_id = await a_task(app_client, directory)
    request = reminder(directory, transition_id, task_id).model_copy(
        update={"channels": (Channel.WEBHOOK,)}
    )

    receipt = await ActivityEnvironment().run(activities(db, settings).notify, request)

    assert receipt.deliveries == []
    refused = [h for h in receiver.received if h.delivery_id.startswith(request.key)]
    assert [h.accepted for h in refused] == [False]
    assert "no v1 signature matches" in (refused[0].refusal or "")
    [row] = await rows_of(db, request.key)
    assert row.sent_at is None


async def test_an_absent_substitute_passes_the_notification_on(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
) -> None:
    """The contact is away and so is their substitute: the substitute's substitute is reached."""
    who = directory.identity
    now = datetime.now(UTC)
    async with db.transaction() as session:
        # Substitutes must share a unit with the absent one: both are home care's backups.
        for backup in (who.contact, who.backup):
            session.add(Membership(person_id=backup, unit_id=directory.other_unit, is_backup=True))
        await session.flush()
        for person, substitute in ((who.contact, who.outsider), (who.outsider, who.backup)):
            await absences.add(
                session,
                person_id=person,
                substitute_id=substitute,
                starts_at=now - timedelta(minutes=5),
                ends_at=now + timedelta(hours=1),
                created_at=now,
            )
    transition_id, task_id = await a_task(app_client, directory)
    request = reminder(directory, transition_id, task_id).model_copy(
        update={"channels": (Channel.IN_APP,)}
    )

    # Absences are resolved for the moment the workflow scheduled the send.
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, current_attempt_scheduled_time=now)
    receipt = await environment.run(activities(db, settings).notify, request)

    assert [(d.person_id, d.on_behalf_of) for d in receipt.deliveries] == [
        (who.backup, who.contact)
    ]


async def test_an_absence_is_judged_at_the_moment_the_send_was_due(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
) -> None:
    """A send the workflow scheduled during a holiday reaches the substitute, whatever the
    worker's own clock says (in virtual time, or for a send that waited in the queue)."""
    who = directory.identity
    holiday = datetime.now(UTC) + timedelta(days=30)
    async with db.transaction() as session:
        await absences.add(
            session,
            person_id=who.contact,
            substitute_id=who.backup,
            starts_at=holiday,
            ends_at=holiday + timedelta(days=21),
            created_at=datetime.now(UTC),
        )
    transition_id, task_id = await a_task(app_client, directory)
    request = reminder(directory, transition_id, task_id).model_copy(
        update={"channels": (Channel.IN_APP,)}
    )
    environment = ActivityEnvironment()
    due = holiday + timedelta(days=1)
    environment.info = dataclasses.replace(environment.info, current_attempt_scheduled_time=due)

    receipt = await environment.run(activities(db, settings).notify, request)

    assert [(d.person_id, d.on_behalf_of) for d in receipt.deliveries] == [
        (who.backup, who.contact)
    ]
