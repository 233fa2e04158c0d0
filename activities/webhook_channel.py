"""Webhook notifications: a signed JSON POST to a unit's configured URL (EPJ, chat tool).

The body carries ids, the task kind and a link, never patient data. The delivery id (the
notification key) is sent in ``X-Overgang-Delivery`` so a receiver can drop a repeated
delivery: a crash between the POST and our record of it can make us send it again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

from activities.email_channel import task_link
from domain.notifications import NotificationRequest
from domain.webhook_signature import DELIVERY_HEADER, SIGNATURE_HEADER, sign

# A receiver that answers these may succeed later; any other 4xx will not.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


class WebhookRefused(Exception):
    """The receiver answered with a client error: retrying will not help."""


class WebhookFailed(Exception):
    """The receiver was unreachable or failed: retry."""


@dataclass(frozen=True)
class WebhookOptions:
    """What the webhook channel needs, handed over by the worker (worker.webhook_options)."""

    base_url: str
    timeout_seconds: float = 10.0


def payload(base_url: str, request: NotificationRequest, delivery_id: str) -> bytes:
    body = {
        "type": f"task.{request.reason.value}",
        "delivery_id": delivery_id,
        "transition_id": request.transition_id,
        "task_id": request.task_id,
        "task_kind": request.task_kind.value,
        "owner_unit_id": request.owner_unit_id,
        "level": request.level,
        "link": task_link(base_url, request.task_id),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookChannel:
    def __init__(self, options: WebhookOptions) -> None:
        self.options = options

    async def send(
        self, request: NotificationRequest, url: str, secret: str, delivery_id: str
    ) -> None:
        body = payload(self.options.base_url, request, delivery_id)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
            DELIVERY_HEADER: delivery_id,
        }
        try:
            async with httpx.AsyncClient(timeout=self.options.timeout_seconds) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise WebhookFailed(f"webhook {url} unreachable: {error!r}") from error
        _check(response, url)


def _check(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if 400 <= status < 500 and status not in RETRYABLE_STATUSES:
        raise WebhookRefused(f"webhook {url} refused the delivery with {status}")
    raise WebhookFailed(f"webhook {url} answered {status}")
