"""Activities that read the directory on a workflow's behalf."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from domain.calendar import frozen_from
from domain.default_policy import DEFAULT_POLICY
from domain.escalation import EscalationPolicy
from domain.notifications import PolicyQuery
from store import directory
from store.database import Database


class DirectoryActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    async def load_escalation_policy(self, query: PolicyQuery) -> EscalationPolicy:
        """The policy snapshot a new step runs under, in its owner unit's office hours."""
        async with self.db.transaction() as session:
            unit = await directory.get_unit(session, query.unit_id)
            row = await directory.latest_policy(
                session,
                municipality_number=query.municipality_number,
                unit_id=query.unit_id,
                task_kind=query.task_kind.value,
            )
            if row is None:
                policy = DEFAULT_POLICY.model_copy(
                    update={"hours": directory.policy_snapshot_hours(unit)}
                )
            else:
                policy = directory.policy_snapshot(row, unit)
        return _with_holidays_frozen(policy)


def _with_holidays_frozen(policy: EscalationPolicy) -> EscalationPolicy:
    hours = frozen_from(policy.hours, datetime.now(UTC).date())
    return policy.model_copy(update={"hours": hours})
