"""A local SMTP server for the embedded default: e-mail works out of the box, and what would
have been sent is kept (store.caught_mail) for administrators to read, never delivered.

It runs on `overgang up`'s own event loop, so it lives and dies with the supervisor.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

from store.caught_mail import CaughtMailbox

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


class MailCatcher:
    """aiosmtpd on HOST:port; every message it accepts goes to the mailbox."""

    def __init__(self, mailbox: CaughtMailbox, port: int) -> None:
        self.mailbox = mailbox
        self.port = port
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # A fixed greeting name: aiosmtpd would otherwise ask DNS for this host's name.
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="overgang.local", loop=loop), HOST, self.port
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        """aiosmtpd's hook: answer 250 only once the message is on disk."""
        content = envelope.original_content or b""
        sender, recipients = envelope.mail_from or "", list(envelope.rcpt_tos)
        await asyncio.to_thread(self.mailbox.add, content, sender, recipients)
        log.info("Caught an e-mail for %d recipient(s)", len(recipients))
        return "250 Message caught (overgang mail catcher; not delivered)"
