"""The coordinator's own list: the transitions that left their units (or that they started),
each as the access model shows it to them: the patient's name with the identity part, the
steps they may see. Having started a transition is no relation by itself (domain.access):
a coordinator who left the unit no longer lists its patients."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import recorder
from api.auth import access as reading
from api.auth import projection
from api.auth.access import Access, Scope
from api.tasks.schemas import TaskPublic
from domain.access import Part
from store import transition_family, transition_search
from store.tables import TaskRow

OWN_LIMIT = 100


class OwnTransition(BaseModel):
    id: str
    kind: str
    status: str
    started_at: datetime
    expected_discharge_date: date | None = None
    ready_at: datetime | None = None
    discharged_at: datetime | None = None
    patient_name: str | None = None
    tasks: list[TaskPublic]


def _own(access: Access, name: str, tasks: list[TaskRow], scope: Scope) -> OwnTransition:
    row = access.transition
    steps = projection.visible_steps(access, tasks, reading.own_units(scope))
    return OwnTransition(
        id=row.id,
        kind=row.kind,
        status=row.status,
        started_at=row.started_at,
        expected_discharge_date=row.expected_discharge_date,
        ready_at=row.ready_at,
        discharged_at=row.discharged_at,
        patient_name=projection.when(access, Part.IDENTITY, name),
        tasks=[projection.task_public(t, access) for t in steps],
    )


async def own_transitions(session: AsyncSession, scope: Scope) -> list[OwnTransition]:
    rows = await transition_search.started_from(
        session,
        scope.visible(),
        person_id=scope.actor.person_id,
        unit_ids=sorted(reading.own_units(scope)),
        limit=OWN_LIMIT,
    )
    names = {t.id: name for t, name in rows}
    found = (await reading.accesses(session, scope, [t for t, _ in rows])).readable()
    tasks = await transition_family.tasks_of_many(session, [a.transition.id for a in found])
    await recorder.record_accesses(session, scope.actor, "transitions.own", found)
    by_started = sorted(found, key=lambda a: a.transition.started_at, reverse=True)
    return [
        _own(
            a,
            names[a.transition.id],
            [t for t in tasks if t.transition_id == a.transition.id],
            scope,
        )
        for a in by_started
    ]
