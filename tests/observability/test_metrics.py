"""The Temporal SDK's metrics (and the escalation lag a workflow records through its meter)
are served beside the API's on /metrics, and by `overgang worker` alone on its own port; every
metric and label the alert rules and the dashboard use is among them."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from probe_workflow import BrokenWorkflowProbe, PolicyLookupProbe
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from foundation.settings import Settings
from foundation.telemetry import serve_worker_metrics
from overgang.embedded import free_port
from store.database import Database
from worker import build_worker

from factories import DirectoryFactory, fast_levels, start_discharge
from polling import eventually

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "overgang.json"
METRIC_NAME = re.compile(r"\b(?:overgang|temporal)_[a-z0-9_]+\b")
GROUPED_BY = re.compile(r"\bby \(([^)]*)\)\s*\(?\s*(?:rate|increase)\(([a-z0-9_]+)")
# Counted by activities/notifications.py, added on another branch at the same time as this one.
FROM_ANOTHER_BRANCH = {"overgang_notification_failures_total"}


def samples(text: str, name: str | None = None) -> list[Sample]:
    """The samples (called `name`); parsing the whole text also proves it well-formed."""
    families = list(text_string_to_metric_families(text))
    return [s for f in families for s in f.samples if name is None or s.name == name]


def served_names(text: str) -> set[str]:
    typed = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    return typed | {s.name for s in samples(text)}


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


def worker_on_own_queue(
    client: Client, db: Database, settings: Settings, probe: type
) -> tuple[Worker, str]:
    queue = f"probe-{uuid.uuid4()}"
    own = settings.model_copy(update={"temporal_task_queue": queue})
    return build_worker(client, db, own, workflows=[probe]), queue


async def fail_a_workflow_task(
    http: httpx.AsyncClient, client: Client, db: Database, settings: Settings
) -> None:
    worker, queue = worker_on_own_queue(client, db, settings, BrokenWorkflowProbe)

    async def counted() -> list[Sample]:
        found = samples(await scrape(http), "temporal_workflow_task_execution_failed_total")
        return [s for s in found if s.labels.get("task_queue") == queue and s.value >= 1]

    async with worker:
        handle = await client.start_workflow(BrokenWorkflowProbe.run, id=queue, task_queue=queue)
        try:
            await eventually(counted, what="a failed workflow task on /metrics")
        finally:
            await handle.terminate("probe done")


async def fail_an_activity(client: Client, settings: Settings) -> None:
    """Against a real closed port: what the worker meets while PostgreSQL is down."""
    closed = Database(f"postgresql+asyncpg://overgang:x@127.0.0.1:{free_port()}/overgang")
    worker, queue = worker_on_own_queue(client, closed, settings, PolicyLookupProbe)
    async with worker:
        with pytest.raises(WorkflowFailureError):
            await client.execute_workflow(PolicyLookupProbe.run, 2, id=queue, task_queue=queue)
    await closed.dispose()


async def escalate(http: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    directory = DirectoryFactory(db, settings)
    await directory.create(levels=fast_levels(seconds=1))
    await start_discharge(http, directory)

    async def lag_counted() -> list[Sample]:
        counts = samples(await scrape(http), "overgang_escalation_lag_seconds_count")
        return [s for s in counts if s.value >= 1]

    await eventually(lag_counted, what="an escalation's lag on /metrics")


@pytest.fixture(scope="module")
async def metrics_text(
    app_client: httpx.AsyncClient, temporal: Client, db: Database, settings: Settings
) -> AsyncIterator[str]:
    """/metrics after an escalation, a failed workflow task and a failed activity."""
    await fail_a_workflow_task(app_client, temporal, db, settings)
    await fail_an_activity(temporal, settings)
    await escalate(app_client, db, settings)
    yield await scrape(app_client)


def test_escalation_lag_is_on_the_apis_metrics(metrics_text: str) -> None:
    counted = samples(metrics_text, "overgang_escalation_lag_seconds_count")
    assert {s.labels["action"] for s in counted} <= {"escalate", "remind"}
    assert {s.labels["workflow_type"] for s in counted} >= {"DischargeWorkflow"}
    buckets = samples(metrics_text, "overgang_escalation_lag_seconds_bucket")
    assert {"1", "3600", "+Inf"} <= {s.labels["le"] for s in buckets}, "our buckets"
    assert samples(metrics_text, "temporal_workflow_task_schedule_to_start_latency_bucket")
    assert samples(metrics_text, "overgang_http_requests_total"), "the API's own are there"
    names = [line.split()[2] for line in metrics_text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names)), "each metric family once"


def test_failures_are_counted(metrics_text: str) -> None:
    failed_tasks = samples(metrics_text, "temporal_workflow_task_execution_failed_total")
    assert any(s.labels.get("workflow_type") == "BrokenWorkflowProbe" for s in failed_tasks)
    failed = samples(metrics_text, "temporal_activity_execution_failed_total")
    assert any(s.labels.get("activity_type") == "load_escalation_policy" for s in failed)


def queries() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return exprs + [target["expr"] for panel in panels for target in panel["targets"]]


def test_every_metric_the_alerts_and_the_dashboard_use_is_served(metrics_text: str) -> None:
    used = {name for query in queries() for name in METRIC_NAME.findall(query)}
    missing = used - served_names(metrics_text)
    assert missing <= FROM_ANOTHER_BRANCH, f"not served: {sorted(missing)}"
    assert len(used) >= 8


def test_the_labels_they_group_by_are_on_the_samples(metrics_text: str) -> None:
    for query in queries():
        for labels, metric in GROUPED_BY.findall(query):
            found = samples(metrics_text, metric)
            if metric in FROM_ANOTHER_BRANCH and not found:
                continue
            have = {label for s in found for label in s.labels}
            wanted = {label.strip() for label in labels.split(",")} - {""}
            assert wanted <= have, f"{metric} has {sorted(have)}, the query wants {wanted}"


def rule_checks() -> Iterator[dict[str, Any]]:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        yield from group["rules"]


def test_alert_rules_are_valid() -> None:
    """With promtool (Debian's prometheus package) when present: its syntax check and the
    unit tests that make each alert fire; without it, the shape of each rule."""
    for rule in rule_checks():
        expr = rule["expr"]
        assert rule["alert"].startswith("Overgang") and expr.count("(") == expr.count(")")
        assert rule["labels"]["severity"] in {"page", "warning"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    promtool = shutil.which("promtool")
    if promtool is None:
        return
    for command in (["check", "rules", str(ALERTS)], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run(
            [promtool, *command], cwd=ALERTS.parent, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr


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
    assert samples(answer.text, "temporal_worker_task_slots_available"), "the SDK's"
    assert samples(answer.text, "process_cpu_seconds_total"), "the process's own registry too"
