"""The escalation policy a step gets when its municipality has configured none."""

from __future__ import annotations

from datetime import timedelta

from domain.escalation import Channel, EscalationLevel, EscalationPolicy, Recipient

# Utskrivningsklare pasienter: the municipality answers "straks"; 4 business hours is the
# configurable default (domain.md). Then the unit leader, then both sides' leaders.
DEFAULT_POLICY = EscalationPolicy(
    id="default",
    version=1,
    name="Standard: 4 arbeidstimer, så leder, så kommunalsjef og DPS-leder",
    levels=(
        EscalationLevel(wait=timedelta(hours=4), notify=(Recipient.OWNER_UNIT,)),
        EscalationLevel(
            wait=timedelta(hours=4),
            notify=(Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER),
            channels=(Channel.IN_APP, Channel.EMAIL),
        ),
        EscalationLevel(
            wait=timedelta(hours=8),
            notify=(Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER),
            channels=(Channel.IN_APP, Channel.EMAIL),
            repeat_every=timedelta(hours=8),
        ),
    ),
)
