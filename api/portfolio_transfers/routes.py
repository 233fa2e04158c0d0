from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from api.deps import ActorDep, ScopeDep, SessionDep, SettingsDep, TemporalDep
from api.portfolio_transfers import service
from api.portfolio_transfers.schemas import (
    PortfolioTransferCreate,
    PortfolioTransferProgress,
    PortfolioTransferStarted,
)

router = APIRouter(prefix="/api/v1/portfolio-transfers", tags=["portfolio-transfers"])


@router.post("", status_code=202, response_model=PortfolioTransferStarted)
async def transfer_portfolio(
    body: PortfolioTransferCreate,
    actor: ActorDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
) -> PortfolioTransferStarted:
    """Hand a leaving therapist's patients to the municipality: one handover per patient.
    Retrying with the same Idempotency-Key starts nothing twice."""
    return await service.start_transfer(
        session, temporal, settings.temporal_task_queue, actor, body, idempotency_key
    )


@router.get("/{transfer_id}", response_model=PortfolioTransferProgress)
async def transfer_progress(
    transfer_id: str, scope: ScopeDep, session: SessionDep
) -> PortfolioTransferProgress:
    """How far the transfer has come: handovers registered, and their steps' statuses, for
    the handovers the caller has a relation to (the units involved, their leaders)."""
    return await service.progress(session, scope, transfer_id)
