"""Replay saved histories of every workflow type against the current code: a change that
would break a running workflow (non-determinism) fails here. Regenerate the fixtures with
tests/workflows/record_histories.py only for workflows not yet deployed; otherwise guard the
change with `workflow.patched`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from foundation.codec import build_codec, data_converter
from foundation.settings import Settings
from worker import WORKFLOW_RUNNER, WORKFLOWS, warm_holiday_calendar

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))
WORKFLOW_TYPES = {"DischargeWorkflow", "HandoverWorkflow", "LarPlanChangeWorkflow"}


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def workflow_type(path: Path) -> str:
    first = json.loads(path.read_text())["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def replayer() -> Replayer:
    # The same converter the client uses, with the development key the fixtures were made with.
    converter = data_converter(build_codec(Settings(environment="test")))
    warm_holiday_calendar()  # as the worker does before it runs workflows
    return Replayer(workflows=WORKFLOWS, data_converter=converter, workflow_runner=WORKFLOW_RUNNER)


def test_there_is_a_history_for_every_workflow_type() -> None:
    assert {workflow_type(path) for path in HISTORIES} == WORKFLOW_TYPES


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_without_nondeterminism(path: Path) -> None:
    result = await replayer().replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
