"""The steps of a set of transitions, as the access model shows them to the caller (the
leaders' report names the units a transition stands at from the open ones; the notifications
page names the step a notification is about)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import access as reading
from api.auth import projection
from api.auth.access import Scope
from api.tasks.schemas import TaskPublic
from domain.tasks import OPEN_STATUSES
from store import transition_family

OPEN = {s.value for s in OPEN_STATUSES}


async def steps_of(
    session: AsyncSession, scope: Scope, transition_ids: Iterable[str], *, open_only: bool
) -> dict[str, list[TaskPublic]]:
    """Per readable transition, its steps that the caller sees (their own, under consent)."""
    rows = await transition_family.by_ids(session, transition_ids)
    found = (await reading.accesses(session, scope, rows)).readable()
    tasks = await transition_family.tasks_of_many(session, [a.transition.id for a in found])
    own = reading.own_units(scope)
    shown: dict[str, list[TaskPublic]] = {}
    for access in found:
        mine = [
            t
            for t in tasks
            if t.transition_id == access.transition.id and (t.status in OPEN or not open_only)
        ]
        steps = projection.visible_steps(access, mine, own)
        shown[access.transition.id] = [projection.task_public(t, access) for t in steps]
    return shown
