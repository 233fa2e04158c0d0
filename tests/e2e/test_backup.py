"""`overgang backup` while `up` runs, a change after it, `overgang restore`: the change is gone
from PostgreSQL and from Temporal, and a step that was waiting at backup time still
escalates afterwards, its e-mail caught by the embedded mail catcher."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from up_process import OVERGANG, UpProcess, wait_until

from overgang.embedded.temporal_server import temporal_binary
from workflows.discharge import workflow_id_for

from factories import make_fodselsnummer

# Long enough that the backup is taken before the step escalates, even on a busy machine.
ESCALATION_WAIT = 45.0


@pytest.fixture
def up() -> Iterator[UpProcess]:
    folder = Path(tempfile.mkdtemp(prefix="overgang-e2e-"))  # see test_up_killed.py
    running = UpProcess(folder / "state")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()
    for process in running.servers():
        process.kill()
    shutil.rmtree(folder, ignore_errors=True)


class Api:
    def __init__(self, up: UpProcess) -> None:
        self.base_url = up.base_url
        self.tokens = {who: up.token(who) for who in ("dps-halden-kontakt", "admin")}

    def call(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=60, **kwargs
        )

    def start_discharge(self) -> dict[str, Any]:
        body = {
            "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Kari Nordmann"},
            "what_matters": "Å bo i egen leilighet.",
            "municipality_number": "3101",
            "origin_unit_id": "dps-halden",
            "expected_discharge_date": (datetime.now(UTC).date() + timedelta(days=9)).isoformat(),
        }
        response = self.call("POST", "/api/v1/discharges", "dps-halden-kontakt", json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def escalations(self, transition_id: str) -> list[dict[str, Any]]:
        response = self.call("GET", f"/api/v1/transitions/{transition_id}", "dps-halden-kontakt")
        assert response.status_code == 200, response.text
        return [e for e in response.json()["timeline"] if e["kind"] == "escalated"]


def _fast_policy(api: Api) -> None:
    """Halden's steps escalate after ESCALATION_WAIT wall-clock seconds, in-app and by e-mail."""
    level: dict[str, Any] = {"wait": ESCALATION_WAIT, "business_time": False}
    level |= {"reach_on_call_now": True, "channels": ["in_app", "email"]}
    levels = [level, {**level, "wait": 3600}]
    body = {"name": "Test: rask", "levels": levels}
    response = api.call("PUT", "/api/v1/escalation-policies/policy-halden", "admin", json=body)
    assert response.status_code == 200, response.text


def _taken_at(backup: Path) -> datetime:
    with tarfile.open(backup) as archive:
        manifest = archive.extractfile("manifest.json")
        assert manifest is not None
        return datetime.fromisoformat(json.load(manifest)["taken_at"])


def _workflow_exists(up: UpProcess, workflow_id: str) -> bool:
    address = f"127.0.0.1:{up.ports['temporal']}"
    done = subprocess.run(
        [str(temporal_binary()), "workflow", "describe", "--address", address, "-w", workflow_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 or "not found" in done.stderr.lower(), done.stderr
    return done.returncode == 0


@pytest.mark.timeout(300)  # two starts of the whole stack, a backup, a restore, a 45 s wait
def test_restore_undoes_later_changes_and_a_waiting_step_still_escalates(up: UpProcess) -> None:
    up.start()
    up.run("demo")
    api = Api(up)
    _fast_policy(api)
    waiting = api.start_discharge()
    due = datetime.fromisoformat(waiting["tasks"][0]["next_escalation_at"])

    backup = up.state_dir.parent / "backup.tar.gz"
    assert "Backup written" in up.run("backup", str(backup))
    if _taken_at(backup) >= due:
        pytest.fail("the backup came after the escalation: this machine is too slow for the test")

    later = api.start_discharge()  # the change the restore must undo
    refused = subprocess.run(
        [OVERGANG, "restore", str(backup)], env=up.env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "stop it first" in refused.stderr, refused.stderr
    assert up.stop() == 0

    assert "Restored the backup" in up.run("restore", str(backup))
    up.start()
    gone = api.call("GET", f"/api/v1/transitions/{later['id']}", "dps-halden-kontakt")
    assert gone.status_code == 404, gone.text
    assert not _workflow_exists(up, workflow_id_for(later["id"]))
    assert _workflow_exists(up, workflow_id_for(waiting["id"]))

    wait_until(
        lambda: api.escalations(waiting["id"]),
        timeout=ESCALATION_WAIT + 60,
        interval=0.5,
        what="the restored step's escalation",
    )
    assert len(api.escalations(waiting["id"])) == 1
    _escalation_mail_caught(api, waiting["tasks"][0]["id"])


def _escalation_mail_caught(api: Api, task_id: str) -> None:
    """Each recipient got the escalation e-mail once, from the mail catcher `up` runs."""

    def caught() -> list[dict[str, Any]]:
        response = api.call("GET", "/api/v1/caught-mail", "admin")
        assert response.status_code == 200, response.text
        return [
            mail
            for mail in response.json()
            if f"/oppgaver/{task_id}" in mail["body"] and mail["subject"].startswith("Eskalert")
        ]

    wait_until(caught, timeout=30, what="the escalation e-mail in the mail catcher")
    recipients = [to for mail in caught() for to in mail["recipients"]]
    assert recipients and len(recipients) == len(set(recipients)), recipients
