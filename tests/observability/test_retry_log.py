"""Observation 6 of issue 12: an outage must not flood the log. An activity that fails
against a stopped PostgreSQL logs one line per retry (activity, attempt, the error's one-line
summary, workflow and transition ids) and its traceback once, when it gives up."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from probe_workflow import PolicyLookupProbe
from temporalio.client import Client, WorkflowFailureError

from foundation.observability import log_handler
from foundation.settings import Settings
from overgang.embedded import EmbeddedPostgres
from store.database import Database
from worker import build_worker

ATTEMPTS = 4
TRACEBACK = "Traceback (most recent call last)"


@pytest.fixture
async def stopped_postgres(state_dir: Path) -> AsyncIterator[Database]:
    """A real PostgreSQL that served one query (a warm pool, as in production) and then stopped."""
    data_dir = state_dir / f"postgres-outage-{uuid.uuid4().hex[:8]}"
    server = EmbeddedPostgres(data_dir, delete_on_stop=False)
    db = Database(await asyncio.to_thread(server.start), pool_size=2)
    async with db.transaction() as session:
        await session.connection()
    await asyncio.to_thread(server.stop)
    yield db
    await db.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)


class Records(logging.Handler):
    """Keeps every record that reaches the root logger, to read their fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class WorkerLog:
    text: io.StringIO
    json_lines: io.StringIO
    records: Records


@pytest.fixture
def worker_log(settings: Settings) -> Iterator[WorkerLog]:
    """The worker's log as a WARNING-level text handler writes it, as the production JSON
    handler writes it, and the records behind them."""
    log = WorkerLog(io.StringIO(), io.StringIO(), Records())
    text = logging.StreamHandler(log.text)
    text.setFormatter(logging.Formatter("LOG %(levelname)s %(name)s: %(message)s"))
    production = log_handler(settings.model_copy(update={"log_format": "json"}), log.json_lines)
    handlers = [text, production, log.records]
    text.setLevel(logging.WARNING)
    production.setLevel(logging.WARNING)
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    yield log
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


async def test_an_outage_logs_one_line_per_retry_and_one_traceback(
    stopped_postgres: Database,
    temporal: Client,
    settings: Settings,
    worker_log: WorkerLog,
) -> None:
    queue_settings = settings.model_copy(update={"temporal_task_queue": f"outage-{uuid.uuid4()}"})
    transition_id = str(uuid.uuid4())
    workflow_id = f"discharge-{transition_id}"
    worker = build_worker(temporal, stopped_postgres, queue_settings, workflows=[PolicyLookupProbe])
    async with worker:
        with pytest.raises(WorkflowFailureError):
            await temporal.execute_workflow(
                PolicyLookupProbe.run,
                ATTEMPTS,
                id=workflow_id,
                task_queue=queue_settings.temporal_task_queue,
            )
    output = worker_log.text.getvalue()
    lines = output.splitlines()
    entries = [line for line in lines if line.startswith("LOG ")]
    assert output.count(TRACEBACK) == 1, output
    assert len(entries) == ATTEMPTS, output
    assert len(lines) < ATTEMPTS + 200, "one traceback, not one per attempt"

    about_activity = [r for r in worker_log.records.records if r.levelno >= logging.WARNING]
    for attempt, record in enumerate(about_activity, start=1):
        message = record.getMessage()
        assert "load_escalation_policy" in message and f"attempt {attempt}" in message
        assert "\n" not in message, "one line per retry"
        assert getattr(record, "workflow_id", None) == workflow_id
        assert getattr(record, "transition_id", None) == transition_id
    retries, final = about_activity[:-1], about_activity[-1]
    assert all(r.exc_info is None for r in retries)
    assert final.exc_info is not None and final.levelno == logging.ERROR

    entries_as_json = [json.loads(line) for line in worker_log.json_lines.getvalue().splitlines()]
    assert [e["attempt"] for e in entries_as_json] == list(range(1, ATTEMPTS + 1))
    assert {e["workflow_id"] for e in entries_as_json} == {workflow_id}
    assert {e["transition_id"] for e in entries_as_json} == {transition_id}
    assert {e["activity"] for e in entries_as_json} == {"load_escalation_policy"}
    assert ["exception" in e for e in entries_as_json] == [False] * (ATTEMPTS - 1) + [True]
    assert all("asyncpg" in e["error"] for e in entries_as_json), "says where it failed"
