"""What the notification activity needs around a send: why it failed (one line, for the
receipt, the table and the metric), what has already left (kept in the activity's
heartbeat, so Temporal holds it for the next attempt even while PostgreSQL is down), and
how long this attempt may keep retrying a write before it must give up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import aiosmtplib
import httpx
from prometheus_client import Counter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio import activity

from activities.webhook_channel import WebhookFailed, WebhookRefused

DELIVERY_FAILURES = Counter(
    "overgang_notification_failures_total",
    "Notifications (e-mail, webhook) that did not go out after the activity's tries.",
    ["channel", "reason"],
)
ERROR_SUMMARY_LENGTH = 200
# What PostgreSQL being away looks like (asyncpg raises OSError for a missing socket).
DATABASE_DOWN = (DBAPIError, PoolTimeout, OSError)
# Leave this much of the attempt for failing cleanly (the heartbeat is flushed on failure).
ATTEMPT_MARGIN = timedelta(seconds=2)
# Without a timeout on the attempt: how long to wait out a database outage before failing.
UNBOUNDED_ATTEMPT = timedelta(seconds=60)


class Trouble(NamedTuple):
    """Why a send failed: `reason` is the metric's label, `final` means retrying cannot help."""

    reason: str
    summary: str
    final: bool


def summary(error: BaseException) -> str:
    """The error's type and first line, short: what a server or the network said."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text[:ERROR_SUMMARY_LENGTH]


def classify(error: BaseException) -> Trouble:
    cause = error.__cause__ if isinstance(error, WebhookFailed) else error
    if isinstance(cause, TimeoutError | httpx.TimeoutException):
        return Trouble("timeout", summary(error), final=False)
    if isinstance(error, WebhookRefused | aiosmtplib.SMTPRecipientsRefused):
        return Trouble("refused", summary(error), final=True)
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 500:
        return Trouble("refused", summary(error), final=True)
    if isinstance(cause, OSError | httpx.TransportError):
        return Trouble("unreachable", summary(error), final=False)
    return Trouble("error", summary(error), final=False)


class Sent(NamedTuple):
    at: datetime
    attempts: int


@dataclass
class SentFacts:
    """Messages that left, by delivery key, carried from attempt to attempt in the heartbeat."""

    sent: dict[str, Sent] = field(default_factory=dict)

    @classmethod
    def resume(cls, details: Sequence[Any]) -> SentFacts:
        """The facts the previous attempt heartbeated (none on the first attempt)."""
        carried = details[0] if details and isinstance(details[0], dict) else {}
        return cls({key: Sent(datetime.fromisoformat(at), n) for key, (at, n) in carried.items()})

    def add(self, key: str, at: datetime, attempts: int) -> None:
        self.sent[key] = Sent(at, attempts)
        self.beat()

    def beat(self) -> None:
        activity.heartbeat({key: [s.at.isoformat(), s.attempts] for key, s in self.sent.items()})


def attempt_deadline(info: activity.Info) -> datetime:
    """When this attempt must have failed on its own: before Temporal times it out."""
    ends = []
    if info.start_to_close_timeout:
        ends.append(info.started_time + info.start_to_close_timeout)
    if info.schedule_to_close_timeout:
        ends.append(info.scheduled_time + info.schedule_to_close_timeout)
    return min(ends, default=datetime.now(UTC) + UNBOUNDED_ATTEMPT) - ATTEMPT_MARGIN


async def keep_trying(
    write: Callable[[], Awaitable[None]], what: str, facts: SentFacts, deadline: datetime
) -> None:
    """Retry a write about a message that has left, with backoff and heartbeats, until the
    database answers or the attempt's deadline; then fail the attempt (the facts stay in
    the heartbeat, so the next attempt records them without sending again)."""
    delay = 0.25
    while True:
        try:
            return await write()
        except DATABASE_DOWN as error:
            left = (deadline - datetime.now(UTC)).total_seconds()
            if left <= 0:
                raise
            activity.logger.warning("recording %s failed (%s); retrying", what, summary(error))
            facts.beat()
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 4.0)
