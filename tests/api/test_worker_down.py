"""When no worker answers, starting a discharge says so within a bound instead of hanging."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from api import workflow_start
from foundation.settings import Settings
from overgang.app import attach, create_app
from store.database import Database

from factories import DirectoryFactory


async def test_start_without_a_worker_answers_504_and_the_workflow_waits(
    settings: Settings,
    db: Database,
    temporal: Client,
    directory: DirectoryFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workflow_start, "FIRST_ANSWER_TIMEOUT_SECONDS", 1.5)
    unpolled = settings.model_copy(update={"temporal_task_queue": "no-worker-polls-this"})
    app = create_app(unpolled, database_url=db.url)
    attach(app, db, temporal)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        response = await http.post(
            "/api/v1/discharges",
            json=directory.discharge_body(),
            headers=directory.headers(directory.identity.coordinator),
        )
    assert response.status_code == 504, response.text
    assert response.headers["retry-after"] == "10"
    workflow_id = response.json()["detail"].split("(workflow ")[1].split(")")[0]
    description = await temporal.get_workflow_handle(workflow_id).describe()
    assert description.status is WorkflowExecutionStatus.RUNNING
    await temporal.get_workflow_handle(workflow_id).terminate(
        "test cleanup: no worker polls its queue"
    )
