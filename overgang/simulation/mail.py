"""A local SMTP server (aiosmtpd) on the simulation's own event loop: every e-mail the worker
sends lands here, counted by Message-ID, so a notice sent twice or never is seen."""

from __future__ import annotations

import asyncio
from collections import Counter
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.smtp import SMTP


class MailCounter:
    """The aiosmtpd handler: counts each Message-ID it receives."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        # A long header may come folded: the id is the value without its whitespace.
        self.received[str(message["Message-ID"]).strip()] += 1
        return "250 Message accepted for delivery"


class MailServer:
    def __init__(self) -> None:
        self.counter = MailCounter()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.counter, hostname="overgang-simulation"), "127.0.0.1", 0
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
