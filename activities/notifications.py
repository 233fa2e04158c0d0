"""Send notifications on the channels a policy level names; a retry sends nothing twice.

Each delivery is keyed by (request key, channel, person or unit). The row is inserted before
the message is sent and marked sent after, so a retried activity skips what already went
out. The honest edge: if the process dies after the SMTP server or webhook receiver took
the message but before it was marked sent, the retry sends it again (at least once, not
exactly once). E-mails carry the key in their Message-ID and webhooks in
``X-Overgang-Delivery``, so the other side can drop the duplicate.

A channel that keeps failing (SMTP server down) is retried by Temporal a few times; then the
activity reports what did go out and leaves the rest unsent in the table, so one broken
channel never stops the escalation chain from reaching the next level.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from activities import recipients
from activities.email_channel import EmailChannel
from activities.recipients import Addressee
from activities.webhook_channel import WebhookChannel, WebhookRefused
from domain.escalation import Channel
from domain.notifications import Delivery, NotificationReceipt, NotificationRequest
from store import directory
from store import notifications as store
from store.database import Database
from store.tables import Unit

# A channel that is down must not hold the escalation chain back for ever: after this many
# attempts (about half a minute with the workflow's retry policy) report what did go out.
GIVE_UP_AFTER_ATTEMPTS = 5


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
        """Deliver on every channel; a failed channel is retried without resending the rest."""
        async with self.db.transaction() as session:
            addressees = await recipients.resolve(session, request, _due_at())
            unit = await directory.get_unit(session, request.owner_unit_id)
        deliveries: list[Delivery] = []
        failures: list[Exception] = []
        for channel in request.channels:
            try:
                deliveries += await self._deliver(channel, request, addressees, unit)
            except Exception as error:  # one channel failing must not hold back the others
                failures.append(error)
        if failures and activity.info().attempt < GIVE_UP_AFTER_ATTEMPTS:
            raise failures[0]
        for failure in failures:  # unsent rows stay in the table (sent_at NULL) for follow-up
            activity.logger.error("notification %s not delivered: %s", request.key, failure)
        return NotificationReceipt(deliveries=deliveries)

    async def _deliver(
        self,
        channel: Channel,
        request: NotificationRequest,
        addressees: list[Addressee],
        unit: Unit | None,
    ) -> list[Delivery]:
        if channel is Channel.IN_APP:
            return await self._in_app(request, addressees)
        if channel is Channel.EMAIL and self.email is not None:
            return [d for a in addressees if (d := await self._email(request, a))]
        if channel is Channel.WEBHOOK and self.webhook is not None:
            delivery = await self._webhook(request, unit)
            return [delivery] if delivery else []
        activity.logger.warning("channel %s is not configured; skipped", channel.value)
        return []

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
                deliveries.append(_delivery(request, Channel.IN_APP, addressee, sent_at))
        return deliveries

    async def _email(self, request: NotificationRequest, addressee: Addressee) -> Delivery | None:
        address, email = addressee.person.email, self.email
        if not address or email is None:
            activity.logger.info("%s has no e-mail address; skipped", addressee.person.id)
            return None
        sent_at = await self._once(
            request, Channel.EMAIL, addressee.person.id, lambda: email.send(request, address)
        )
        return _delivery(request, Channel.EMAIL, addressee, sent_at)

    async def _webhook(self, request: NotificationRequest, unit: Unit | None) -> Delivery | None:
        webhook = self.webhook
        if unit is None or not unit.webhook_url or not unit.webhook_secret or webhook is None:
            return None
        url, secret = unit.webhook_url, unit.webhook_secret
        key = _key(request, Channel.WEBHOOK, unit.id)
        try:
            sent_at = await self._once(
                request, Channel.WEBHOOK, None, lambda: webhook.send(request, url, secret, key)
            )
        except WebhookRefused as refused:  # a client error will not heal by retrying
            activity.logger.warning("%s", refused)
            return None
        return Delivery(person_id=None, unit_id=unit.id, channel=Channel.WEBHOOK, sent_at=sent_at)

    async def _once(
        self,
        request: NotificationRequest,
        channel: Channel,
        person_id: str | None,
        send: Callable[[], Awaitable[None]],
    ) -> datetime:
        """Insert the row, send unless an earlier attempt did, mark it sent; when it went out."""
        key = _key(request, channel, person_id or request.owner_unit_id)
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            values = _row(request, channel, person_id, now)
            await store.add_notification(session, key=key, **values)
            sent_at = await store.sent_at(session, key)
        if sent_at is not None:
            return sent_at
        await send()
        sent_at = datetime.now(UTC)
        async with self.db.transaction() as session:
            await store.mark_sent(session, key, sent_at)
        return sent_at


def _due_at() -> datetime:
    """When the workflow asked for this send, on Temporal's clock: absences are resolved for
    that moment, so the substitute on duty then is reached (also in virtual time, where the
    worker's wall clock says nothing about who is away)."""
    return activity.info().current_attempt_scheduled_time


def _key(request: NotificationRequest, channel: Channel, target: str) -> str:
    return f"{request.key}:{channel.value}:{target}"


def _row(
    request: NotificationRequest, channel: Channel, person_id: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "unit_id": request.owner_unit_id,
        "channel": channel.value,
        "transition_id": request.transition_id,
        "task_id": request.task_id,
        "reason": request.reason.value,
        "level": request.level,
        "created_at": now,
        "sent_at": now if channel is Channel.IN_APP else None,
    }


def _delivery(
    request: NotificationRequest, channel: Channel, addressee: Addressee, sent_at: datetime
) -> Delivery:
    return Delivery(
        person_id=addressee.person.id,
        unit_id=request.owner_unit_id,
        channel=channel,
        sent_at=sent_at,
        on_behalf_of=addressee.on_behalf_of,
    )
