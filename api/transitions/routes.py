from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActorDep, SessionDep
from api.transitions import service
from api.transitions.schemas import TransitionDetail

router = APIRouter(prefix="/api/v1/transitions", tags=["transitions"])


@router.get("/{transition_id}", response_model=TransitionDetail)
async def get_transition(
    transition_id: str, actor: ActorDep, session: SessionDep
) -> TransitionDetail:
    """One transition: its steps with deadlines and escalation state, and its timeline."""
    return await service.transition_detail(session, actor, transition_id)
