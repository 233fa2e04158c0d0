from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActorDep, SessionDep
from api.idempotency import IdempotentRoute
from api.policies import service
from api.policies.schemas import PolicyCreate, PolicyDetail, PolicySummary, PolicyUpdate

router = APIRouter(
    prefix="/api/v1/escalation-policies", tags=["escalation policies"], route_class=IdempotentRoute
)


@router.get("", response_model=list[PolicySummary])
async def list_policies(
    actor: ActorDep, session: SessionDep, municipality_number: str | None = None
) -> list[PolicySummary]:
    """The newest version of each policy, with the numbers of its versions."""
    return await service.list_policies(session, municipality_number)


@router.get("/{policy_id}", response_model=PolicyDetail)
async def get_policy(policy_id: str, actor: ActorDep, session: SessionDep) -> PolicyDetail:
    return await service.get_policy(session, policy_id)


@router.post("", status_code=201, response_model=PolicyDetail)
async def create_policy(body: PolicyCreate, actor: ActorDep, session: SessionDep) -> PolicyDetail:
    """Administrators only."""
    return await service.create_policy(session, actor, body)


@router.put("/{policy_id}", response_model=PolicyDetail)
async def new_version(
    policy_id: str, body: PolicyUpdate, actor: ActorDep, session: SessionDep
) -> PolicyDetail:
    """Write a new version (administrators only); running steps keep their snapshot."""
    return await service.new_version(session, actor, policy_id, body)
