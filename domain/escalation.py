"""Escalation policies and the pure decision of what happens when a deadline passes.

A policy is an ordered list of levels, as in PagerDuty and Grafana OnCall. Level 0 is the
owner unit being asked; its wait is the acknowledgement deadline. When a level's wait passes
without acknowledgement the step moves to the next level and its targets are notified. A
level may repeat reminders until its wait is over; past the last level only its reminders go
on. Waits are business time in the owner unit's calendar unless a level says otherwise.

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
    calendar = policy.calendar
    if level.business_time:
        return calendar.add(start, wait)
    due = start + wait
    return due if level.reach_on_call_now else calendar.next_opening(due)


def _next_event_at(
    policy: EscalationPolicy, level_no: int, level_start: datetime, reminders: int
) -> datetime | None:
    """The earlier of this level's next reminder and its end (None past the last level)."""
    level = policy.levels[level_no]
    candidates: list[datetime] = []
    if level_no + 1 < len(policy.levels):
        candidates.append(_after(policy, level, level_start, level.wait))
    if level.repeat_every is not None:
        candidates.append(_after(policy, level, level_start, level.repeat_every * (reminders + 1)))
    return min(candidates) if candidates else None


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
    """What happens at `now` to an unacknowledged step, or None if nothing is due yet."""
    if state.next_at is None or now < state.next_at:
        return None
    current = policy.levels[state.level]
    level_end = (
        _after(policy, current, state.level_started_at, current.wait)
        if state.level + 1 < len(policy.levels)
        else None
    )
    if level_end is not None and state.next_at >= level_end:
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
    reminders = state.reminders_sent + 1
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
