"""Liveness and readiness: the only routes besides metrics that need no token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from api.errors import problem_response

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

UP, DOWN, UNKNOWN = "up", "down", "unknown"
# How the detail names each part (the names operators and earlier clients know).
TITLES = {"postgres": "PostgreSQL", "temporal": "Temporal", "worker": "worker"}
# A live worker long-polls again at least every minute; Temporal lists a gone one for 5.
POLLED_WITHIN = timedelta(seconds=90)
CHECK_SECONDS = 3


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, object]:
    """Ready when PostgreSQL answers a query, Temporal a health check, and a worker runs;
    `parts` names each as up, down or unknown (a worker cannot be seen while Temporal is down)."""
    postgres, temporal = await asyncio.gather(_postgres(request), _temporal(request))
    parts = {"postgres": postgres, "temporal": temporal, "worker": await _worker(request, temporal)}
    down = [TITLES[name] for name, state in parts.items() if state == DOWN]
    if down:
        detail = f"not reachable: {', '.join(down)}"
        return problem_response(503, "Not ready", detail, headers={"Retry-After": "5"}, parts=parts)
    return {"status": "ready", "parts": parts}


async def _postgres(request: Request) -> str:
    try:
        async with request.app.state.db.engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("select 1")), timeout=CHECK_SECONDS)
    except Exception as error:  # any failure means "not ready", whatever its type
        log.warning("readiness: PostgreSQL failed: %r", error)
        return DOWN
    return UP


async def _temporal(request: Request) -> str:
    try:
        client = request.app.state.temporal.service_client
        await asyncio.wait_for(client.check_health(), timeout=CHECK_SECONDS)
    except Exception as error:
        log.warning("readiness: Temporal failed: %r", error)
        return DOWN
    return UP


async def _worker(request: Request, temporal: str) -> str:
    """In `overgang up` the supervisor knows; elsewhere, Temporal's record of recent polls."""
    running: Callable[[], bool] | None = getattr(request.app.state, "worker_running", None)
    if running is not None:
        return UP if running() else DOWN
    if temporal != UP:
        return UNKNOWN
    try:
        return UP if await _recently_polled(request) else DOWN
    except Exception as error:
        log.warning("readiness: could not ask Temporal about workers: %r", error)
        return UNKNOWN


async def _recently_polled(request: Request) -> bool:
    client = request.app.state.temporal
    queue = request.app.state.settings.temporal_task_queue
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=timedelta(seconds=CHECK_SECONDS),
    )
    since = datetime.now(UTC) - POLLED_WITHIN
    return any(p.last_access_time.ToDatetime(UTC) >= since for p in answer.pollers)
