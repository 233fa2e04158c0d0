"""What a workflow asks the notification activities to send, and what they report back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.escalation import Channel, Recipient
from domain.tasks import TaskKind


class NotificationReason(StrEnum):
    NEW_TASK = "new_task"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    BOUNCED = "bounced"
    DATE_CHANGED = "date_changed"  # the expected discharge date moved
    LAR_OBJECTION = "lar_objection"  # the municipality objects to a LAR change


class NotificationRequest(BaseModel, frozen=True):
    """`key` is unique per (workflow, step, occasion): a retried send delivers nothing twice."""

    key: str
    transition_id: str
    task_id: str
    task_kind: TaskKind
    owner_unit_id: str
    origin_unit_id: str
    municipality_number: str
    reason: NotificationReason
    level: int
    recipients: tuple[Recipient, ...]
    channels: tuple[Channel, ...]
    only_person_ids: tuple[str, ...] = Field(
        default=(), description="When set, only these of the resolved people (a fallback)."
    )


class Delivery(BaseModel, frozen=True):
    """One message that went out; on_behalf_of is the absent contact a substitute stands in for."""

    person_id: str | None
    unit_id: str | None
    channel: Channel
    sent_at: datetime | None = None
    on_behalf_of: str | None = None
    attempts: int = Field(default=1, description="Sends tried before it went out (1 = first).")


class DeliveryFailure(BaseModel, frozen=True):
    """A message that did not go out after the activity's attempts. The workflow puts it on the
    timeline ("e-post ikke levert") and falls back to the next channel the level has."""

    person_id: str | None
    unit_id: str | None
    channel: Channel
    error: str = Field(description="One line, no patient data: what the server or network said.")
    attempts: int = 1


class NotificationReceipt(BaseModel, frozen=True):
    deliveries: list[Delivery]
    # New in the receipt: older histories carry receipts without it, so it must default.
    failures: list[DeliveryFailure] = Field(default_factory=list)


class Fallback(BaseModel, frozen=True):
    """A notice sent again on another channel, for the recipients a channel failed."""

    request: NotificationRequest
    instead_of: tuple[Channel, ...]


def fallbacks(request: NotificationRequest, receipt: NotificationReceipt) -> list[Fallback]:
    """The next channel for each recipient a delivery failed for: the level's channels after
    the failed one, then in-app, skipping any the recipient was reached on this time. A unit's
    webhook that failed falls back for everyone the level names, unless in-app reached them."""
    reached = {(d.person_id, d.channel) for d in receipt.deliveries}
    in_app_reached_someone = any(d.channel is Channel.IN_APP for d in receipt.deliveries)
    wanted: dict[Channel, set[str] | None] = {}  # None: everyone the level names
    failed: dict[Channel, set[Channel]] = {}
    for failure in receipt.failures:
        channel = _next_channel(request.channels, failure, reached)
        if channel is None:
            continue
        if failure.person_id is None:
            if channel is Channel.IN_APP and in_app_reached_someone:
                continue
            wanted[channel] = None
        elif (people := wanted.setdefault(channel, set())) is not None:
            people.add(failure.person_id)
        failed.setdefault(channel, set()).add(failure.channel)
    return [
        Fallback(
            request=_fallback(request, channel, tuple(sorted(people or ()))),
            instead_of=tuple(sorted(failed[channel])),
        )
        for channel, people in wanted.items()
    ]


def _next_channel(
    channels: tuple[Channel, ...],
    failure: DeliveryFailure,
    reached: set[tuple[str | None, Channel]],
) -> Channel | None:
    later = channels[channels.index(failure.channel) + 1 :] if failure.channel in channels else ()
    for channel in (*later, Channel.IN_APP):
        if channel is not failure.channel and (failure.person_id, channel) not in reached:
            return channel
    return None


def _fallback(
    request: NotificationRequest, channel: Channel, people: tuple[str, ...]
) -> NotificationRequest:
    return request.model_copy(
        update={
            "key": f"{request.key}:fallback-{channel.value}",
            "channels": (channel,),
            "only_person_ids": people,
        }
    )


class PolicyQuery(BaseModel, frozen=True):
    """Find the most specific policy: unit and kind, unit, municipality and kind, municipality."""

    municipality_number: str
    unit_id: str
    task_kind: TaskKind
