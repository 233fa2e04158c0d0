"""Send notifications on the channels a policy level names; a retry sends nothing twice.

Each delivery is keyed by (request key, channel, person); the key is inserted before it is
sent, and marked sent after, so a retried activity skips what already went out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities import recipients
from domain.escalation import Channel
from domain.notifications import Delivery, NotificationReceipt, NotificationRequest
from store import notifications as store
from store.database import Database
from store.tables import Person


class NotificationActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    async def notify(self, request: NotificationRequest) -> NotificationReceipt:
        async with self.db.transaction() as session:
            people = await recipients.resolve(session, request)
        deliveries: list[Delivery] = []
        for channel in request.channels:
            deliveries += await self._deliver(channel, request, people)
        return NotificationReceipt(deliveries=deliveries)

    async def _deliver(
        self, channel: Channel, request: NotificationRequest, people: list[Person]
    ) -> list[Delivery]:
        if channel is Channel.IN_APP:
            return await self._in_app(request, people)
        activity.logger.warning("channel %s is not configured; skipped", channel.value)
        return []

    async def _in_app(self, request: NotificationRequest, people: list[Person]) -> list[Delivery]:
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            for person in people:
                await store.add_notification(
                    session,
                    key=f"{request.key}:{Channel.IN_APP.value}:{person.id}",
                    person_id=person.id,
                    unit_id=request.owner_unit_id,
                    channel=Channel.IN_APP.value,
                    transition_id=request.transition_id,
                    task_id=request.task_id,
                    reason=request.reason.value,
                    level=request.level,
                    created_at=now,
                    sent_at=now,
                )
        return [
            Delivery(person_id=p.id, unit_id=request.owner_unit_id, channel=Channel.IN_APP)
            for p in people
        ]
