from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from api.deps import ActorDep, SessionDep, SettingsDep, TemporalDep
from api.discharges import service
from api.discharges.schemas import DischargeCreate, TransitionStarted
from api.idempotency import IdempotentRoute

router = APIRouter(prefix="/api/v1/discharges", tags=["discharges"], route_class=IdempotentRoute)


@router.post("", status_code=201, response_model=TransitionStarted)
async def start_discharge(
    body: DischargeCreate,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TransitionStarted:
    """Start utskrivning fra DPS/TSB: the municipality's receiving unit gets an intake task.
    A retry with the same Idempotency-Key starts nothing and gets the first answer."""
    return await service.start_discharge(
        session,
        temporal,
        settings.temporal_task_queue,
        actor,
        body,
        idempotency_key,
        timing=service.timing_from(settings),
    )
