"""Starting a transition workflow and waiting, within a bound, for its first answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)

from api.errors import Problem

# The first answer (the first task in the inbox) normally takes well under a second. If the
# worker is down or failing, the workflow is started and waits durably, but the person who
# asked should not: tell them, rather than hold the request (and a graceful shutdown) open.
FIRST_ANSWER_TIMEOUT_SECONDS = 20.0


async def start_and_wait(
    temporal: Client, update: Any, operation: WithStartWorkflowOperation[Any, Any], workflow_id: str
) -> Any:
    try:
        answer = await temporal.execute_update_with_start_workflow(
            update,
            start_workflow_operation=operation,
            rpc_timeout=timedelta(seconds=FIRST_ANSWER_TIMEOUT_SECONDS),
        )
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise Problem(
            504,
            "Started, not yet answered",
            f"the transition was started (workflow {workflow_id}) but did not answer within "
            f"{FIRST_ANSWER_TIMEOUT_SECONDS:.0f} s; it goes on when the worker runs. Retry the "
            "same request with the same Idempotency-Key to get its answer.",
            retry_after=10,
        ) from None
    return answer
