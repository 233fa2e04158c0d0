"""Send notifications on the channels a policy level names; nothing goes out twice because
of our own database, and what does not go out is reported.

Each delivery is keyed by (request key, channel, person or unit). Before a send the row is
written (or found) and its attempt count raised; a row already marked sent is not sent
again. Once a message has left, the fact is first put in the activity's heartbeat (Temporal
keeps it for the next attempt) and then written to PostgreSQL, retrying the write within
the attempt: a database outage never makes us send a message twice. The honest edge: if
the process dies between the remote side taking the message and that heartbeat, the next
attempt sends it again. E-mails carry the key in their Message-ID and webhooks in
``X-Overgang-Delivery`` so the other side can drop the duplicate, and the row's attempt
count (``Delivery.attempts``) shows that it may have happened.

A channel that does not take a message is tried a few times within seconds; then the
message is reported in ``receipt.failures``, kept in the table as failed with its error and
counted in ``overgang_notification_failures_total``, and the activity succeeds: the workflow
decides what to do about it (timeline, fallback channel), and the chain does not wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from activities import recipients
from activities.delivery import (
    DELIVERY_FAILURES,
    SentFacts,
    Trouble,
    attempt_deadline,
    classify,
    keep_trying,
)
from activities.email_channel import EmailChannel
from activities.recipients import Addressee
from activities.webhook_channel import WebhookChannel
from domain.escalation import Channel
from domain.notifications import (
    Delivery,
    DeliveryFailure,
    NotificationReceipt,
    NotificationRequest,
)
from store import directory
from store import notifications as store
from store.database import Database
from store.tables import Unit

# A channel that does not take a message: three tries with these pauses between them, and
# no more than this many seconds in all (per message), so a dead channel is given up on in
# seconds. After that, the channel's other messages of this request are not tried.
PAUSES_BETWEEN_TRIES = (0.2, 0.5)
GIVE_UP_AFTER_SECONDS = 8.0

Outcome = Delivery | DeliveryFailure


@dataclass(frozen=True)
class Message:
    """One e-mail or webhook: its delivery key, whom it reaches, and how to send it."""

    key: str
    channel: Channel
    person_id: str | None
    unit_id: str
    send: Callable[[], Awaitable[None]]
    on_behalf_of: str | None = None

    def delivered(self, sent_at: datetime, attempts: int) -> Delivery:
        return Delivery(
            person_id=self.person_id,
            unit_id=self.unit_id,
            channel=self.channel,
            sent_at=sent_at,
            on_behalf_of=self.on_behalf_of,
            attempts=attempts,
        )

    def failed(self, trouble: Trouble, attempts: int) -> DeliveryFailure:
        return DeliveryFailure(
            person_id=self.person_id,
            unit_id=self.unit_id,
            channel=self.channel,
            error=trouble.summary,
            attempts=attempts,
        )


class NotificationActivities:
    def __init__(
        self,
        db: Database,
        email: EmailChannel | None = None,
        webhook: WebhookChannel | None = None,
    ) -> None:
        self.db = db
        self.email = email
        self.webhook = webhook

    @activity.defn
    async def notify(self, request: NotificationRequest) -> NotificationReceipt:
        """Deliver on every channel; report what went out and what did not."""
        facts = SentFacts.resume(activity.info().heartbeat_details)
        facts.beat()  # this attempt's heartbeat starts with what earlier ones sent
        async with self.db.transaction() as session:
            addressees = await recipients.resolve(session, request, datetime.now(UTC))
            unit = await directory.get_unit(session, request.owner_unit_id)
        sender = _Sender(self.db, request, facts, attempt_deadline(activity.info()))
        outcomes: list[Outcome] = []
        for channel in request.channels:
            if channel is Channel.IN_APP:
                outcomes += await self._in_app(request, addressees)
            for message in self._messages(channel, request, addressees, unit):
                outcomes.append(await sender.deliver(message))
        return NotificationReceipt(
            deliveries=[o for o in outcomes if isinstance(o, Delivery)],
            failures=[o for o in outcomes if isinstance(o, DeliveryFailure)],
        )

    async def _in_app(
        self, request: NotificationRequest, addressees: list[Addressee]
    ) -> list[Delivery]:
        """The row is the in-app message: inserting it is sending it. All recipients of one
        occasion see theirs at once (one transaction)."""
        now, deliveries = datetime.now(UTC), []
        async with self.db.transaction() as session:
            for addressee in addressees:
                key = _key(request, Channel.IN_APP, addressee.person.id)
                values = _row(request, Channel.IN_APP, addressee.person.id, now)
                await store.add_notification(session, key=key, **values)
                sent_at = await store.sent_at(session, key) or now
                deliveries.append(_in_app_delivery(request, addressee, sent_at))
        return deliveries

    def _messages(
        self,
        channel: Channel,
        request: NotificationRequest,
        addressees: list[Addressee],
        unit: Unit | None,
    ) -> list[Message]:
        if channel is Channel.EMAIL and self.email is not None:
            return [m for a in addressees if (m := self._email(request, a))]
        if channel is Channel.WEBHOOK and self.webhook is not None:
            hook = self._webhook(request, unit)
            return [hook] if hook else []
        if channel is not Channel.IN_APP:
            activity.logger.warning("channel %s is not configured; skipped", channel.value)
        return []

    def _email(self, request: NotificationRequest, addressee: Addressee) -> Message | None:
        address, email = addressee.person.email, self.email
        if not address or email is None:
            activity.logger.info("%s has no e-mail address; skipped", addressee.person.id)
            return None
        return Message(
            key=_key(request, Channel.EMAIL, addressee.person.id),
            channel=Channel.EMAIL,
            person_id=addressee.person.id,
            unit_id=request.owner_unit_id,
            send=lambda: email.send(request, address),
            on_behalf_of=addressee.on_behalf_of,
        )

    def _webhook(self, request: NotificationRequest, unit: Unit | None) -> Message | None:
        webhook = self.webhook
        if unit is None or not unit.webhook_url or not unit.webhook_secret or webhook is None:
            return None
        url, secret = unit.webhook_url, unit.webhook_secret
        key = _key(request, Channel.WEBHOOK, unit.id)
        return Message(
            key=key,
            channel=Channel.WEBHOOK,
            person_id=None,
            unit_id=unit.id,
            send=lambda: webhook.send(request, url, secret, key),
        )


@dataclass
class _Sender:
    """One activity attempt's sends: each message at most once, failures given up on fast."""

    db: Database
    request: NotificationRequest
    facts: SentFacts
    deadline: datetime
    down: dict[Channel, Trouble] = field(default_factory=dict)

    async def deliver(self, message: Message) -> Outcome:
        earlier = self.facts.sent.get(message.key)
        if earlier is not None:  # sent by an earlier attempt that could not record it
            await self._keep_sent(message, earlier.at)
            return message.delivered(earlier.at, earlier.attempts)
        trouble = self.down.get(message.channel)
        if trouble is not None:  # the channel did not take this request's last message:
            return await self._keep_failed(message, trouble)  # not tried (attempts 0)
        return await self._try(message)

    async def _try(self, message: Message) -> Outcome:
        """Send, pausing between tries, until it leaves or the channel is given up on."""
        started = asyncio.get_running_loop().time()
        for pause in PAUSES_BETWEEN_TRIES:
            outcome = await self._try_once(message, started)
            if not isinstance(outcome, Trouble):
                return outcome
            if outcome.final or self._out_of_time(started, pause):
                return await self._give_up(message, outcome)
            await asyncio.sleep(pause)
        outcome = await self._try_once(message, started)
        if isinstance(outcome, Trouble):
            return await self._give_up(message, outcome)
        return outcome

    async def _try_once(self, message: Message, started: float) -> Delivery | Trouble:
        sent_at, attempts = await self._claim(message)
        if sent_at is not None:  # an earlier attempt sent it and recorded it
            return message.delivered(sent_at, attempts)
        left = GIVE_UP_AFTER_SECONDS - (asyncio.get_running_loop().time() - started)
        try:
            await asyncio.wait_for(message.send(), timeout=max(left, 0.1))
        except Exception as error:  # every way a channel fails is reported, not raised
            return classify(error)
        return await self._sent(message, attempts)

    def _out_of_time(self, started: float, pause: float) -> bool:
        spent = asyncio.get_running_loop().time() - started
        return spent + pause >= GIVE_UP_AFTER_SECONDS

    async def _give_up(self, message: Message, trouble: Trouble) -> Outcome:
        if not trouble.final:  # unreachable or slow: the rest of the channel would be too
            self.down[message.channel] = trouble
        return await self._keep_failed(message, trouble)

    async def _claim(self, message: Message) -> tuple[datetime | None, int]:
        """Before a try: the row exists and counts it. Nothing has left yet, so a database
        that is down fails the attempt here, and Temporal retries it."""
        values = _row(self.request, message.channel, message.person_id, datetime.now(UTC))
        async with self.db.transaction() as session:
            return await store.claim_attempt(session, message.key, values)

    async def _sent(self, message: Message, attempts: int) -> Delivery:
        sent_at = datetime.now(UTC)
        self.facts.add(message.key, sent_at, attempts)  # in Temporal before PostgreSQL
        await self._keep_sent(message, sent_at)
        return message.delivered(sent_at, attempts)

    async def _keep_sent(self, message: Message, sent_at: datetime) -> None:
        async def write() -> None:
            async with self.db.transaction() as session:
                await store.mark_sent(session, message.key, sent_at)

        await keep_trying(write, f"{message.key} as sent", self.facts, self.deadline)

    async def _keep_failed(self, message: Message, trouble: Trouble) -> Outcome:
        """Mark the row failed with the error (its attempt count says how often it was
        tried); a row some earlier attempt did send stays sent and counts as delivered."""
        now = datetime.now(UTC)
        found: list[tuple[datetime | None, int]] = []

        async def write() -> None:
            values = _row(self.request, message.channel, message.person_id, now)
            async with self.db.transaction() as session:
                await store.add_notification(session, key=message.key, **values)
                found[:] = [await store.mark_failed(session, message.key, now, trouble.summary)]

        await keep_trying(write, f"{message.key} as failed", self.facts, self.deadline)
        sent_at, counted = found[0]
        if sent_at is not None:
            return message.delivered(sent_at, counted)
        DELIVERY_FAILURES.labels(message.channel.value, trouble.reason).inc()
        activity.logger.warning("notification %s not delivered: %s", message.key, trouble.summary)
        return message.failed(trouble, counted)


def _key(request: NotificationRequest, channel: Channel, target: str) -> str:
    return f"{request.key}:{channel.value}:{target}"


def _in_app_delivery(
    request: NotificationRequest, addressee: Addressee, sent_at: datetime
) -> Delivery:
    return Delivery(
        person_id=addressee.person.id,
        unit_id=request.owner_unit_id,
        channel=Channel.IN_APP,
        sent_at=sent_at,
        on_behalf_of=addressee.on_behalf_of,
    )


def _row(
    request: NotificationRequest, channel: Channel, person_id: str | None, now: datetime
) -> dict[str, Any]:
    in_app = channel is Channel.IN_APP
    return {
        "person_id": person_id,
        "unit_id": request.owner_unit_id,
        "channel": channel.value,
        "transition_id": request.transition_id,
        "task_id": request.task_id,
        "reason": request.reason.value,
        "level": request.level,
        "created_at": now,
        "sent_at": now if in_app else None,
        "attempts": 1 if in_app else 0,
    }
