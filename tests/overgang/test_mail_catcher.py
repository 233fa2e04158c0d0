"""The embedded default's mail catcher: what the e-mail channel sends is caught and kept, and
reads back newest first, with its envelope, subject and Message-ID."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from activities.email_channel import EmailChannel
from domain.escalation import Channel, Recipient
from domain.notifications import NotificationReason, NotificationRequest
from domain.tasks import TaskKind
from foundation.settings import Settings
from overgang.embedded import free_port
from overgang.embedded.mail_catcher import MailCatcher
from store.caught_mail import CaughtMailbox
from worker import email_options


@pytest.fixture
async def catcher(tmp_path: Path) -> AsyncIterator[MailCatcher]:
    running = MailCatcher(CaughtMailbox(tmp_path / "state" / "mail"), free_port())
    await running.start()
    yield running
    await running.stop()


def escalation(level: int) -> NotificationRequest:
    task_id = str(uuid.uuid4())
    return NotificationRequest(
        key=f"{task_id}:escalation-{level}",
        transition_id=str(uuid.uuid4()),
        task_id=task_id,
        task_kind=TaskKind.HOUSING,
        owner_unit_id="bolig",
        origin_unit_id="dps",
        municipality_number="3101",
        reason=NotificationReason.ESCALATION,
        level=level,
        recipients=(Recipient.OWNER_UNIT,),
        channels=(Channel.EMAIL,),
    )


async def test_the_email_channel_delivers_to_the_catcher(catcher: MailCatcher) -> None:
    """Unconfigured SMTP is the catcher: the channel's defaults reach it, nothing else set."""
    settings = Settings(environment="test", smtp_port=catcher.port)
    assert not settings.smtp_configured
    request = escalation(level=2)
    await EmailChannel(email_options(settings)).send(request, "bolig.kontakt@example.no")

    [caught] = catcher.mailbox.newest()
    assert caught.recipients == ("bolig.kontakt@example.no",)
    assert caught.sender == settings.smtp_sender
    assert caught.subject == "Eskalert oppgave: bolig (nivå 2)"
    assert caught.message_id.startswith(f"<{request.key.replace(':', '.')}")
    assert f"/oppgaver/{request.task_id}" in caught.body


async def test_caught_mail_reads_newest_first_and_keeps_every_recipient(
    catcher: MailCatcher,
) -> None:
    for n in range(3):
        await aiosmtplib.send(
            f"Subject: melding {n}\r\n\r\nnummer {n}\r\n".encode(),
            sender="overgang@localhost",
            recipients=["a@example.no", "b@example.no"],
            hostname="127.0.0.1",
            port=catcher.port,
        )
    caught = catcher.mailbox.newest(limit=2)
    assert [mail.subject for mail in caught] == ["melding 2", "melding 1"]
    assert caught[0].recipients == ("a@example.no", "b@example.no")
    assert caught[0].body.strip() == "nummer 2"


def test_an_empty_or_missing_mailbox_reads_as_nothing(tmp_path: Path) -> None:
    assert CaughtMailbox(tmp_path / "never-made").newest() == []


def test_setting_the_smtp_host_turns_the_catcher_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERGANG_SMTP_HOST", "smtp.kommune.example")
    assert Settings().smtp_configured
    monkeypatch.delenv("OVERGANG_SMTP_HOST")
    monkeypatch.setenv("OVERGANG_SMTP_PORT", "2525")  # a port alone: still the catcher's
    assert not Settings().smtp_configured
