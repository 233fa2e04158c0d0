"""A message that does not go out is reported, kept and counted, within seconds (issue 12,
no. 4): the activity gives up on a dead channel itself instead of failing for Temporal to
retry, and says which message failed and why."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from channels import make_reachable
from prometheus_client import REGISTRY
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment
from test_notifications import a_task, reminder
from webhook_receiver import WebhookReceiver

from domain.escalation import Channel
from domain.notifications import NotificationRequest
from foundation.settings import Settings
from overgang.embedded import free_port
from store.database import Database
from store.tables import NotificationRow
from worker import notification_activities

from factories import DirectoryFactory

SECRET = "whsec-failure-test"
# Far below the 15-30 s the workflow's retries took before, and below one activity attempt.
GIVE_UP_WITHIN_SECONDS = 5


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver(SECRET)
    running.start()
    yield running
    running.stop()


def failures_counted(channel: str, reason: str) -> float:
    labels = {"channel": channel, "reason": reason}
    return REGISTRY.get_sample_value("overgang_notification_failures_total", labels) or 0.0


async def rows_of(db: Database, key: str) -> dict[str, NotificationRow]:
    async with db.transaction() as session:
        query = select(NotificationRow).where(NotificationRow.key.startswith(key))
        return {row.channel: row for row in await session.scalars(query)}


async def a_request(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, channels: tuple[Channel, ...]
) -> NotificationRequest:
    transition_id, task_id = await a_task(app_client, directory)
    return reminder(directory, transition_id, task_id).model_copy(update={"channels": channels})


async def test_a_dead_smtp_server_is_reported_in_seconds_on_the_first_attempt(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    await make_reachable(db, directory, receiver.url, SECRET)
    request = await a_request(app_client, directory, (Channel.IN_APP, Channel.EMAIL))
    no_smtp = settings.model_copy(update={"smtp_port": free_port()})
    notify = notification_activities(db, no_smtp).notify
    counted_before = failures_counted("email", "unreachable")

    started = time.monotonic()
    receipt = await ActivityEnvironment().run(notify, request)  # attempt 1: no exception
    took = time.monotonic() - started

    assert took < GIVE_UP_WITHIN_SECONDS, f"gave up after {took:.1f} s"
    contact = directory.identity.contact
    assert [(d.channel, d.person_id) for d in receipt.deliveries] == [(Channel.IN_APP, contact)]
    [failure] = receipt.failures
    assert (failure.channel, failure.person_id, failure.unit_id) == (
        Channel.EMAIL,
        contact,
        directory.intake,
    )
    assert failure.error.startswith("SMTPConnectError"), failure.error
    assert "\n" not in failure.error and len(failure.error) <= 200
    assert failure.attempts >= 1
    rows = await rows_of(db, request.key)
    assert rows["email"].sent_at is None and rows["email"].failed_at is not None
    assert rows["email"].error == failure.error
    assert rows["email"].attempts == failure.attempts
    assert failures_counted("email", "unreachable") == counted_before + 1


async def test_a_refused_and_an_unreachable_webhook_are_reported(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    notify = notification_activities(db, settings).notify
    refused_before = failures_counted("webhook", "refused")

    await make_reachable(db, directory, receiver.url, "not-the-receivers-secret")
    refused = await a_request(app_client, directory, (Channel.WEBHOOK,))
    receipt = await ActivityEnvironment().run(notify, refused)

    assert receipt.deliveries == []
    [failure] = receipt.failures
    assert (failure.channel, failure.unit_id, failure.person_id) == (
        Channel.WEBHOOK,
        directory.intake,
        None,
    )
    assert "401" in failure.error and failure.attempts == 1  # a client error is not retried
    assert failures_counted("webhook", "refused") == refused_before + 1

    await make_reachable(db, directory, f"http://127.0.0.1:{free_port()}/hooks", SECRET)
    unreachable = await a_request(app_client, directory, (Channel.WEBHOOK,))
    started = time.monotonic()
    receipt = await ActivityEnvironment().run(notify, unreachable)

    assert time.monotonic() - started < GIVE_UP_WITHIN_SECONDS
    [failure] = receipt.failures
    assert failure.error.startswith("WebhookFailed"), failure.error
    assert (await rows_of(db, unreachable.key))["webhook"].failed_at is not None
