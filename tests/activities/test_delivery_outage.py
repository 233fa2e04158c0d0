"""A PostgreSQL outage right after a message left must not send it again (issue 12, no. 3).

Real parts: a PostgreSQL of the test's own that goes down (an immediate shutdown, as when it
is killed) the moment the SMTP server or the webhook receiver has taken the message (after
the send, before our record of it) and is started again later; the real notification
activity run by a real Temporal worker with the task board's retry policy; a real SMTP
server and webhook receiver that count what arrived.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from channels import address_of, make_reachable
from mail_sink import SmtpServer
from sqlalchemy import select
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker
from webhook_receiver import WebhookReceiver

from activities.notifications import NotificationActivities
from domain.escalation import Channel, Recipient
from domain.notifications import NotificationReason, NotificationReceipt, NotificationRequest
from domain.tasks import TaskKind
from domain.transition import TransitionKind, TransitionRecord
from foundation.settings import Settings
from overgang.embedded import EmbeddedPostgres, free_port
from store import patients, read_model
from store.database import Database
from store.migrate import upgrade_async
from store.tables import NotificationRow
from worker import notification_activities
from workflows.task_board import ACTIVITY_RETRY

from factories import DirectoryFactory, make_fodselsnummer

SECRET = "whsec-outage-test"
# Shorter than the task board's 30 s so that an outage outlasting one attempt stays quick.
ATTEMPT_TIMEOUT = timedelta(seconds=8)


@workflow.defn(sandboxed=False)
class NotifyOnce:
    """Runs the notification activity with the task board's retry policy."""

    @workflow.run
    async def run(self, request: NotificationRequest) -> NotificationReceipt:
        return await workflow.execute_activity_method(
            NotificationActivities.notify,
            request,
            start_to_close_timeout=ATTEMPT_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )


@dataclass
class Outage:
    """Takes PostgreSQL down when the first message arrives; starts it `seconds` later."""

    server: EmbeddedPostgres
    seconds: float
    began: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def begin(self, *_: Any) -> None:
        """Runs in the receiver's thread, before the sender hears the message was taken."""
        if self.began.is_set():
            return
        self.began.set()
        _shut_down_immediately(self.server)
        threading.Timer(self.seconds, self._end).start()

    def _end(self) -> None:
        self.server.start()
        self.ended.set()


def _shut_down_immediately(server: EmbeddedPostgres) -> None:
    """SIGQUIT: the postmaster and its backends exit at once, without a checkpoint (a
    normal stop can take seconds here, longer than a sender waits for its answer)."""
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 10
    while server.is_running() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
async def own_postgres(state_dir: Path) -> AsyncIterator[EmbeddedPostgres]:
    data_dir = state_dir / f"postgres-outage-{uuid.uuid4().hex[:8]}"
    server = EmbeddedPostgres(data_dir, delete_on_stop=False)
    await upgrade_async(await asyncio.to_thread(server.start))
    yield server
    await asyncio.to_thread(server.stop)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def receivers() -> Iterator[tuple[SmtpServer, WebhookReceiver]]:
    smtp, hooks = SmtpServer(free_port()), WebhookReceiver(SECRET)
    smtp.start()
    hooks.start()
    yield smtp, hooks
    smtp.stop()
    hooks.stop()


async def a_transition(db: Database, directory: DirectoryFactory) -> str:
    """The read-model row the notifications refer to, written as the workflow would."""
    transition_id = str(uuid.uuid4())
    async with db.transaction() as session:
        patient_id = await patients.find_or_add(
            session, fodselsnummer=make_fodselsnummer(), name="Per Pasient"
        )
        record = TransitionRecord(
            id=transition_id,
            kind=TransitionKind.DISCHARGE,
            workflow_id=f"outage-{transition_id}",
            patient_id=patient_id,
            municipality_number=directory.number,
            origin_unit_id=directory.dps,
            started_by=directory.identity.coordinator,
            what_matters="Å bo hjemme.",
            started_at=datetime.now(UTC),
        )
        await read_model.register_transition(session, record)
    return transition_id


def escalation(directory: DirectoryFactory, transition_id: str) -> NotificationRequest:
    task_id = str(uuid.uuid4())
    return NotificationRequest(
        key=f"{task_id}:escalation:1:0",
        transition_id=transition_id,
        task_id=task_id,
        task_kind=TaskKind.MUNICIPAL_INTAKE,
        owner_unit_id=directory.intake,
        origin_unit_id=directory.dps,
        municipality_number=directory.number,
        reason=NotificationReason.ESCALATION,
        level=1,
        recipients=(Recipient.OWNER_UNIT, Recipient.BACKUP_CONTACTS),
        channels=(Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK),
    )


async def notify_through_temporal(
    temporal: Client, db: Database, settings: Settings, request: NotificationRequest
) -> NotificationReceipt:
    queue = f"outage-{uuid.uuid4().hex[:8]}"
    activities = notification_activities(db, settings)
    async with Worker(
        temporal, task_queue=queue, workflows=[NotifyOnce], activities=[activities.notify]
    ):
        return await temporal.execute_workflow(
            NotifyOnce.run,
            request,
            id=f"outage-{request.key}",
            task_queue=queue,
            execution_timeout=timedelta(minutes=3),
        )


@pytest.mark.parametrize(
    ("stop_on", "outage_seconds"),
    [
        ("email", 3.0),  # back within the attempt
        ("webhook", ATTEMPT_TIMEOUT.total_seconds() + 6),  # outlasts the attempt
    ],
)
async def test_a_database_outage_after_a_send_sends_nothing_twice(
    own_postgres: EmbeddedPostgres,
    receivers: tuple[SmtpServer, WebhookReceiver],
    temporal: Client,
    settings: Settings,
    stop_on: str,
    outage_seconds: float,
) -> None:
    smtp, hooks = receivers
    db = Database(own_postgres.sqlalchemy_url(), pool_size=2)
    try:
        directory = DirectoryFactory(db, settings)
        await directory.create()
        await make_reachable(db, directory, hooks.url, SECRET)
        request = escalation(directory, await a_transition(db, directory))
        outage = Outage(own_postgres, outage_seconds)
        if stop_on == "email":
            smtp.sink.on_mail = outage.begin
        else:
            hooks.on_hook = outage.begin
        reachable = settings.model_copy(update={"smtp_port": smtp.port})

        receipt = await notify_through_temporal(temporal, db, reachable, request)

        assert outage.began.is_set() and outage.ended.is_set()
        people = [directory.identity.contact, directory.identity.backup]
        marker = request.key.replace(":", ".")
        for person in people:
            arrived = [
                m for m in smtp.sink.to(address_of(person)) if marker in m.message["Message-ID"]
            ]
            assert len(arrived) == 1, f"{len(arrived)} e-mails reached {person}"
        arrived_hooks = [h for h in hooks.accepted() if h.delivery_id.startswith(request.key)]
        assert len(arrived_hooks) == 1, f"{len(arrived_hooks)} webhooks arrived"
        sent = {(d.channel, d.person_id) for d in receipt.deliveries}
        assert sent == {
            *((Channel.IN_APP, p) for p in people),
            *((Channel.EMAIL, p) for p in people),
            (Channel.WEBHOOK, None),
        }
        assert [d.attempts for d in receipt.deliveries] == [1] * len(receipt.deliveries)
        assert receipt.failures == []
        async with db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(NotificationRow).where(NotificationRow.key.startswith(request.key))
                )
            )
        assert len(rows) == 5
        assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
    finally:
        await db.dispose()
