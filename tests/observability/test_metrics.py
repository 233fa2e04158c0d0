"""The Temporal SDK's metrics (and the escalation lag a workflow records through its meter)
are served beside the API's on /metrics, and by `overgang worker` alone on its own port."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest
from probe_workflow import BrokenWorkflowProbe
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from temporalio.client import Client

from foundation.settings import Settings
from foundation.telemetry import serve_worker_metrics
from store.database import Database
from worker import build_worker

from factories import DirectoryFactory, fast_levels, start_discharge
from polling import eventually


def samples(text: str, name: str) -> list[Sample]:
    """The samples called `name`; parsing the whole text also proves it well-formed."""
    families = list(text_string_to_metric_families(text))
    return [s for family in families for s in family.samples if s.name == name]


def family_names(text: str) -> list[str]:
    return [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_escalation_lag_is_on_the_apis_metrics(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    await directory.set_policy(fast_levels(seconds=1), version=2)
    await start_discharge(app_client, directory)

    async def lag_counted() -> list[Sample]:
        counts = samples(await scrape(app_client), "overgang_escalation_lag_seconds_count")
        return [s for s in counts if s.value >= 1 and s.labels["workflow_type"]]

    counted = await eventually(lag_counted, what="an escalation's lag on /metrics")
    assert {s.labels["action"] for s in counted} <= {"escalate", "remind"}
    text = await scrape(app_client)
    buckets = samples(text, "overgang_escalation_lag_seconds_bucket")
    assert {"1", "3600", "+Inf"} <= {s.labels["le"] for s in buckets}, "our buckets"
    assert samples(text, "temporal_workflow_task_schedule_to_start_latency_bucket")
    assert samples(text, "temporal_activity_schedule_to_start_latency_bucket")
    assert samples(text, "overgang_http_requests_total"), "the API's own are still there"
    names = family_names(text)
    assert len(names) == len(set(names)), "each metric family once"


async def test_workflow_task_failures_are_counted(
    app_client: httpx.AsyncClient, temporal: Client, db: Database, settings: Settings
) -> None:
    queue = f"broken-{uuid.uuid4()}"
    worker = build_worker(
        temporal,
        db,
        settings.model_copy(update={"temporal_task_queue": queue}),
        workflows=[BrokenWorkflowProbe],
    )

    async def failures() -> list[Sample]:
        text = await scrape(app_client)
        found = samples(text, "temporal_workflow_task_execution_failed_total")
        return [s for s in found if s.labels.get("task_queue") == queue and s.value >= 1]

    async with worker:
        handle = await temporal.start_workflow(
            BrokenWorkflowProbe.run, id=f"broken-{uuid.uuid4()}", task_queue=queue
        )
        try:
            assert await eventually(failures, what="a failed workflow task on /metrics")
        finally:
            await handle.terminate("probe done")


@pytest.fixture
def worker_metrics(settings: Settings) -> Iterator[str]:
    """`overgang worker`'s own metrics server, on a port that is taken, so it must move."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = serve_worker_metrics(
            settings.model_copy(update={"worker_metrics_port": taken.getsockname()[1]})
        )
        yield f"http://127.0.0.1:{server.server_port}/metrics"
        server.shutdown()


async def test_the_worker_alone_serves_its_metrics(
    worker_metrics: str, app_client: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(worker_metrics, timeout=5)
    text = answer.text
    assert samples(text, "temporal_worker_task_slots_available"), "the SDK's"
    assert samples(text, "process_cpu_seconds_total"), "the process's own registry too"
