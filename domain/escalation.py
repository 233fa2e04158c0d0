"""Escalation policies and the pure decision of what happens when a deadline passes.

A policy is an ordered list of levels, as in PagerDuty and Grafana OnCall. Level 0 is the
owner unit being asked; its wait is the acknowledgement deadline. When a level's wait passes
without acknowledgement the step moves to the next level and its targets are notified. A
level may repeat reminders until its wait is over; past the last level only its reminders go
on. Waits are business time in the owner unit's calendar unless a level says otherwise.

After hours: a wall-clock wait that runs out while the owner unit is closed fires at its next
opening, unless the level must reach an on-call contact now (``reach_on_call_now``).
Reminders that fall due while closed collapse into one at the opening, never a burst.

The policy is frozen into the step when it starts (a snapshot, with its version), so editing
a policy never changes a running step's history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from domain.calendar import BusinessCalendar, OfficeHours


class Recipient(StrEnum):
    OWNER_UNIT = "owner_unit"  # the owning unit's contacts (or their substitutes)
    BACKUP_CONTACTS = "backup_contacts"  # the unit's named backup contacts
    UNIT_LEADER = "unit_leader"
    MUNICIPAL_LEADER = "municipal_leader"
    ORIGIN_LEADER = "origin_leader"  # the leader of the discharging DPS/TSB unit


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"


class EscalationLevel(BaseModel, frozen=True):
    wait: timedelta = Field(description="How long this level waits before the next one.")
    business_time: bool = Field(
        default=True, description="Count the wait in the owner unit's office hours."
    )
    notify: tuple[Recipient, ...] = (Recipient.OWNER_UNIT,)
    channels: tuple[Channel, ...] = (Channel.IN_APP,)
    repeat_every: timedelta | None = Field(
        default=None, description="Remind the same targets this often until acknowledged."
    )
    reach_on_call_now: bool = Field(
        default=False,
        description="Fire outside office hours too (on-call); otherwise wait for the next opening.",
    )

    @field_validator("wait")
    @classmethod
    def _positive_wait(cls, wait: timedelta) -> timedelta:
        if wait <= timedelta(0):
            raise ValueError("an escalation level's wait must be positive")
        return wait

    @field_validator("notify", "channels")
    @classmethod
    def _not_empty(cls, values: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
        if not values:
            raise ValueError("name at least one")
        return values

    @field_validator("repeat_every")
    @classmethod
    def _positive_repeat(cls, every: timedelta | None) -> timedelta | None:
        if every is not None and every <= timedelta(0):
            raise ValueError("repeat_every must be positive")
        return every


class EscalationPolicy(BaseModel, frozen=True):
    id: str
    version: int = 1
    name: str
    levels: tuple[EscalationLevel, ...]
    hours: OfficeHours = Field(default_factory=OfficeHours)

    @field_validator("levels")
    @classmethod
    def _at_least_one_level(
        cls, levels: tuple[EscalationLevel, ...]
    ) -> tuple[EscalationLevel, ...]:
        if not levels:
            raise ValueError("an escalation policy needs at least one level")
        return levels

    @property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.hours)


class EscalationState(BaseModel, frozen=True):
    """Where a step is in its policy; next_at None means nothing more will happen."""

    level: int = 0
    level_started_at: datetime
    next_at: datetime | None
    reminders_sent: int = 0

    def stopped(self) -> EscalationState:
        return self.model_copy(update={"next_at": None})

    @property
    def escalated(self) -> bool:
        return self.level > 0


class EscalationDecision(BaseModel, frozen=True):
    """What to do now that a step's next_at has passed."""

    action: Literal["escalate", "remind"]
    level: int
    notify: tuple[Recipient, ...]
    channels: tuple[Channel, ...]
    state: EscalationState


def _after(
    policy: EscalationPolicy, level: EscalationLevel, start: datetime, wait: timedelta
) -> datetime:
    """`start` plus `wait` under the level's rules: business time, or wall-clock moved to the
    next opening unless the level must reach an on-call contact now."""
    calendar = policy.calendar
    if level.business_time:
        return calendar.add(start, wait)
    due = start + wait
    return due if level.reach_on_call_now else calendar.next_opening(due)


def _level_end(policy: EscalationPolicy, level_no: int, level_start: datetime) -> datetime | None:
    """When this level hands over to the next one; None for the last level."""
    if level_no + 1 >= len(policy.levels):
        return None
    level = policy.levels[level_no]
    return _after(policy, level, level_start, level.wait)


def _reminder_at(
    policy: EscalationPolicy, level_no: int, level_start: datetime, n: int
) -> datetime | None:
    """The instant of the level's n-th reminder (n >= 1), None if the level does not repeat."""
    level = policy.levels[level_no]
    if level.repeat_every is None:
        return None
    return _after(policy, level, level_start, level.repeat_every * n)


def _next_event_at(
    policy: EscalationPolicy, level_no: int, level_start: datetime, reminders: int
) -> datetime | None:
    """The earlier of this level's next reminder and its end (None past the last level)."""
    candidates = [
        at
        for at in (
            _level_end(policy, level_no, level_start),
            _reminder_at(policy, level_no, level_start, reminders + 1),
        )
        if at is not None
    ]
    return min(candidates) if candidates else None


def _first_reminder_after(policy: EscalationPolicy, state: EscalationState, now: datetime) -> int:
    """The smallest reminder number > reminders_sent whose instant is after `now`.

    Reminder instants never decrease with n, but several can collapse onto one opening (after
    hours) or fall into the past (a late worker); those are skipped rather than sent in a
    burst. Exponential then binary search keeps this cheap even after a long outage.
    """

    def due(n: int) -> bool:
        at = _reminder_at(policy, state.level, state.level_started_at, n)
        return at is not None and at <= now

    low, step = state.reminders_sent + 1, 1
    if not due(low):
        return low
    while due(low + step):
        low, step = low + step, step * 2
    high = low + step  # due(low) holds, due(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if due(middle) else (low, middle)
    return high


def start_escalation(policy: EscalationPolicy, started_at: datetime) -> EscalationState:
    """The state of a step that has just been handed to its owner (level 0)."""
    return EscalationState(
        level=0,
        level_started_at=started_at,
        next_at=_next_event_at(policy, 0, started_at, 0),
    )


def acknowledgement_deadline(policy: EscalationPolicy, started_at: datetime) -> datetime:
    """When level 0's wait runs out: the step's deadline for kvittering."""
    first = policy.levels[0]
    return _after(policy, first, started_at, first.wait)


def decide(
    policy: EscalationPolicy, state: EscalationState, now: datetime
) -> EscalationDecision | None:
    """What happens at `now` to an unacknowledged step, or None if nothing is due yet.

    Once the level's wait is over the step escalates, even if reminders of the level are
    still outstanding (a late worker sends no stale reminders). The next level starts at
    `now`, so an outage delays the chain instead of firing several levels at once.
    """
    if state.next_at is None or now < state.next_at:
        return None
    level_end = _level_end(policy, state.level, state.level_started_at)
    if level_end is not None and now >= level_end:
        return _escalate(policy, state.level + 1, now)
    return _remind(policy, state, now)


def _escalate(policy: EscalationPolicy, level_no: int, now: datetime) -> EscalationDecision:
    level = policy.levels[level_no]
    state = EscalationState(
        level=level_no, level_started_at=now, next_at=_next_event_at(policy, level_no, now, 0)
    )
    return EscalationDecision(
        action="escalate", level=level_no, notify=level.notify, channels=level.channels, state=state
    )


def _remind(policy: EscalationPolicy, state: EscalationState, now: datetime) -> EscalationDecision:
    level = policy.levels[state.level]
    # The reminder sent now is the latest one due; its number keys the notification.
    reminders = _first_reminder_after(policy, state, now) - 1
    next_state = state.model_copy(
        update={
            "reminders_sent": reminders,
            "next_at": _next_event_at(policy, state.level, state.level_started_at, reminders),
        }
    )
    return EscalationDecision(
        action="remind",
        level=state.level,
        notify=level.notify,
        channels=level.channels,
        state=next_state,
    )


def skipped_reminders(
    policy: EscalationPolicy, before: EscalationState, decision: EscalationDecision
) -> list[datetime]:
    """When the reminders fell due that a late decision skips (sent none of): those between
    the last one sent and the one sent now. Empty unless the step was reminded late."""
    if decision.action != "remind":
        return []
    sent_now = decision.state.reminders_sent
    return [
        at
        for n in range(before.reminders_sent + 1, sent_now)
        if (at := _reminder_at(policy, before.level, before.level_started_at, n)) is not None
    ]
