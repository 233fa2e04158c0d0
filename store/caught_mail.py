"""Mail the embedded default's mail catcher received, kept as files in a Maildir.

A Maildir and not a table: the catcher keeps catching while PostgreSQL is down (then the
e-mails of an outage are still there to read), each message is one file written atomically
(tmp/ then new/), and any mail reader can open the folder.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path


@dataclass(frozen=True)
class CaughtMail:
    id: str
    received_at: datetime
    sender: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    body: str


class CaughtMailbox:
    """The Maildir under the state folder; created on the first message."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add(self, content: bytes, sender: str, recipients: Iterable[str]) -> str:
        """Keep one message with its envelope, as a delivering server would."""
        envelope = f"Return-Path: <{sender}>\r\n".encode()
        envelope += b"".join(f"Delivered-To: {to}\r\n".encode() for to in recipients)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        return mailbox.Maildir(self.folder, create=True).add(envelope + content)

    def newest(self, limit: int = 100) -> list[CaughtMail]:
        """The latest messages first."""
        if not self.folder.is_dir():
            return []
        box = mailbox.Maildir(self.folder, create=False)
        newest = sorted(box.iterkeys(), key=_delivery_order, reverse=True)
        return [_read(key, box.get_message(key)) for key in newest[:limit]]


def _delivery_order(key: str) -> tuple[int, int]:
    """Maildir names start `<seconds>.M<microseconds>`; a stranger's file sorts first."""
    seconds, _, rest = key.partition(".")
    micros = rest[1:].split("P", 1)[0] if rest.startswith("M") else ""
    return (int(seconds) if seconds.isdigit() else 0, int(micros) if micros.isdigit() else 0)


def _read(key: str, stored: mailbox.MaildirMessage) -> CaughtMail:
    message = message_from_bytes(stored.as_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return CaughtMail(
        id=key,
        received_at=datetime.fromtimestamp(stored.get_date(), UTC),  # the delivery time
        sender=_header(message, "Return-Path").strip("<>"),
        recipients=tuple(str(to).strip() for to in message.get_all("Delivered-To", [])),
        subject=_header(message, "Subject"),
        message_id=_header(message, "Message-ID"),
        body=_plain_text(message),
    )


def _header(message: EmailMessage, name: str) -> str:
    """Unfolded (a long Message-ID arrives folded onto its own line)."""
    return " ".join(str(message.get(name, "")).split())


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if isinstance(part, EmailMessage) else ""
