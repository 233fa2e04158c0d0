"""A real SMTP server (aiosmtpd) that keeps what arrives, for tests to read."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    recipients: tuple[str, ...]
    message: EmailMessage
    at: datetime

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class MailSink:
    """The aiosmtpd handler; runs in the controller's thread, so the list is guarded.
    `on_mail` runs after a message is kept and before the sender hears it was accepted."""

    def __init__(self, on_mail: Callable[[ReceivedMail], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._mails: list[ReceivedMail] = []
        self.on_mail = on_mail

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        mail = ReceivedMail(tuple(envelope.rcpt_tos), message, datetime.now(UTC))  # type: ignore[arg-type]
        with self._lock:
            self._mails.append(mail)
        if self.on_mail is not None:
            self.on_mail(mail)
        return "250 Message accepted for delivery"

    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._mails)

    def to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [mail for mail in self._mails if address in mail.recipients]


class SmtpServer:
    def __init__(self, port: int, on_mail: Callable[[ReceivedMail], None] | None = None) -> None:
        self.sink = MailSink(on_mail)
        self.port = port
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
