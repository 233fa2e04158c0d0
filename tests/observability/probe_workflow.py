"""A workflow that runs one real activity (the escalation policy lookup) under a retry policy
that gives up after a few attempts, so a test can watch what the worker logs meanwhile."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from domain.notifications import PolicyQuery
    from domain.tasks import TaskKind


@workflow.defn
class PolicyLookupProbe:
    @workflow.run
    async def run(self, attempts: int) -> None:
        query = PolicyQuery(
            municipality_number="3101", unit_id="probe-unit", task_kind=TaskKind.MUNICIPAL_INTAKE
        )
        await workflow.execute_activity_method(
            DirectoryActivities.load_escalation_policy,
            query,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100),
                backoff_coefficient=1.0,
                maximum_attempts=attempts,
            ),
        )


@workflow.defn
class BrokenWorkflowProbe:
    """Fails its workflow task (a bug, not an ApplicationError): Temporal retries the task."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("probe: a bug in workflow code")
