"""A real HTTP server in a thread that receives webhooks and checks them as a unit's EPJ would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from domain.webhook_signature import DELIVERY_HEADER, SIGNATURE_HEADER, InvalidSignature, verify


@dataclass(frozen=True)
class ReceivedHook:
    delivery_id: str
    body: dict[str, Any]
    raw: bytes
    signature: str
    accepted: bool
    refusal: str | None
    at: datetime


class WebhookReceiver:
    """Listens on 127.0.0.1:`port`; answers 204 to a valid delivery and 401 otherwise.
    `on_hook` runs after a delivery is kept and before the sender gets the answer."""

    def __init__(self, secret: str, on_hook: Callable[[ReceivedHook], None] | None = None) -> None:
        self.secret = secret
        self.on_hook = on_hook
        self.received: list[ReceivedHook] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/overgang-hooks"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def accepted(self) -> list[ReceivedHook]:
        with self._lock:
            return [hook for hook in self.received if hook.accepted]

    def check(self, raw: bytes, signature: str, delivery_id: str) -> ReceivedHook:
        try:
            verify(self.secret, signature, raw, now=time.time())
            accepted, refusal = True, None
        except InvalidSignature as error:
            accepted, refusal = False, str(error)
        hook = ReceivedHook(
            delivery_id, json.loads(raw), raw, signature, accepted, refusal, datetime.now(UTC)
        )
        with self._lock:
            self.received.append(hook)
        return hook

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook = receiver.check(
                    raw,
                    self.headers.get(SIGNATURE_HEADER, ""),
                    self.headers.get(DELIVERY_HEADER, ""),
                )
                if receiver.on_hook is not None:
                    receiver.on_hook(hook)
                self.send_response(204 if hook.accepted else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler
