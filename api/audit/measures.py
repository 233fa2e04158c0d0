"""The leaders' measures, over what the access model lets the caller see: step figures over
the steps they see, transition figures over the transitions they have a relation to, and
the follow-up share (an event of the municipality's step) only where they see every step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.access import Scope
from store import measures
from store.visibility import sees_all_steps

SLOWEST_UNITS = 15


async def acknowledge_seconds_by_unit(
    session: AsyncSession, scope: Scope, since: datetime
) -> list[tuple[str, float]]:
    return await measures.acknowledge_seconds_by_unit(
        session, scope.visible_steps(), since, SLOWEST_UNITS
    )


async def late_step_deadlines(
    session: AsyncSession, scope: Scope, since: datetime, now: datetime
) -> list[datetime]:
    return await measures.late_step_deadlines(session, scope.visible_steps(), since, now)


async def waiting_days_by_municipality(
    session: AsyncSession, scope: Scope, since: datetime
) -> list[tuple[str, int]]:
    return await measures.waiting_days_by_municipality(session, scope.visible(), since)


async def follow_up_counts(
    session: AsyncSession, scope: Scope, since: datetime
) -> list[tuple[str, int, int]]:
    whole = sees_all_steps(scope.reader, scope.units) & scope.visible()
    return await measures.follow_up_counts(session, whole, since)
