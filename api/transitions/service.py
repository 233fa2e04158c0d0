from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import policy
from api.errors import Problem
from api.tasks.schemas import TaskPublic
from api.transitions.schemas import EventPublic, TransitionDetail
from domain.actors import Actor
from store import inbox as queries


async def transition_detail(
    session: AsyncSession, actor: Actor, transition_id: str
) -> TransitionDetail:
    transition = await queries.get_transition(session, transition_id)
    if transition is None:
        raise Problem(404, "Not found", f"no transition {transition_id}")
    tasks = await queries.tasks_of(session, transition_id)
    policy.may_view_transition(actor, transition.origin_unit_id, (t.owner_unit_id for t in tasks))
    events = await queries.timeline(session, transition_id)
    return TransitionDetail(
        id=transition.id,
        kind=transition.kind,
        status=transition.status,
        municipality_number=transition.municipality_number,
        origin_unit_id=transition.origin_unit_id,
        started_by=transition.started_by,
        started_at=transition.started_at,
        expected_discharge_date=transition.expected_discharge_date,
        ready_at=transition.ready_at,
        discharged_at=transition.discharged_at,
        what_matters=transition.what_matters,
        tasks=[TaskPublic.from_row(t) for t in tasks],
        timeline=[EventPublic.from_row(e) for e in events],
    )
