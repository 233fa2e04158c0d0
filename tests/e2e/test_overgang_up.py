"""`overgang up` as a person runs it: it gets ready, serves a discharge, stops cleanly while a
step waits on its deadline, and after a restart the step escalates on time."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import text
from up_process import terminate

from overgang.embedded import EmbeddedPostgres, free_port
from store.database import Database

from factories import make_fodselsnummer
from polling import eventually

OVERGANG = str(Path(sys.executable).parent / "overgang")
ESCALATION_WAIT = 20.0  # seconds: long enough to stop the stack inside it, even when busy


class RunningStack:
    def __init__(self, state_dir: Path, ports: dict[str, int]) -> None:
        self.env = {
            **os.environ,
            "OVERGANG_STATE_DIR": str(state_dir),
            "OVERGANG_API_PORT": str(ports["api"]),
            "OVERGANG_TEMPORAL_PORT": str(ports["temporal"]),
            "OVERGANG_TEMPORAL_UI_PORT": str(ports["ui"]),
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("TEMPORAL_ADDRESS", None)
        self.base_url = f"http://127.0.0.1:{ports['api']}"
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 300) -> float:  # under a minute unless the machine is busy
        """Start `overgang up`; return the seconds until it printed that it is ready."""
        started = time.monotonic()
        self.process = subprocess.Popen(
            [OVERGANG, "up"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        self._read_until("stop with Ctrl-C", self.process.stdout, started + timeout)
        return time.monotonic() - started

    def _read_until(self, marker: str, stream: IO[str], deadline: float) -> None:
        while time.monotonic() < deadline:
            line = stream.readline()
            if not line:
                break
            self.output.append(line)
            if marker in line:
                return
        raise AssertionError(f"`overgang up` did not say {marker!r}:\n{''.join(self.output)}")

    def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        rest, _ = self.process.communicate(timeout=120)
        self.output.append(rest)
        assert self.process.returncode == 0, "".join(self.output)
        return rest

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [OVERGANG, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    if not shutil.which(OVERGANG):
        pytest.fail("the overgang command is not installed in this environment")
    ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
    running = RunningStack(tmp_path / "state", ports)
    yield running
    if running.process and running.process.poll() is None:
        terminate(running.process, timeout=60)


async def _fast_policy_for_halden(state_dir: Path) -> None:
    """A newer version of Halden's policy whose first wait is ESCALATION_WAIT wall-clock seconds."""
    url = EmbeddedPostgres(state_dir / "postgres").start()
    db = Database(url)
    level = {"wait": ESCALATION_WAIT, "business_time": False, "reach_on_call_now": True}
    levels = [level, {**level, "wait": 3600, "notify": ["unit_leader"]}]
    async with db.transaction() as session:
        await session.execute(
            text(
                "insert into escalation_policies"
                " (id, version, name, municipality_number, levels, created_at) values"
                " ('policy-halden', 2, 'Test: rask', '3101', cast(:levels as jsonb), now())"
            ),
            {"levels": json.dumps(levels)},
        )
    await db.dispose()


async def test_up_survives_a_restart_while_a_step_waits_on_its_deadline(
    stack: RunningStack, tmp_path: Path
) -> None:
    ready_seconds = stack.start()
    print(f"\n`overgang up` ready in {ready_seconds:.1f} s (first start, new state folder)")
    assert "Temporal UI" in "".join(stack.output)
    stack.run("demo")
    await _fast_policy_for_halden(tmp_path / "state")
    coordinator = stack.run("token", "dps-halden-kontakt").strip()

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        body = {
            "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Ola Nordmann"},
            "what_matters": "Å komme hjem til katten min.",
            "municipality_number": "3101",
            "origin_unit_id": "dps-halden",
            "expected_discharge_date": (datetime.now(UTC).date() + timedelta(days=10)).isoformat(),
        }
        response = await http.post(
            "/api/v1/discharges", json=body, headers={"Authorization": f"Bearer {coordinator}"}
        )
        assert response.status_code == 201, response.text
        started = response.json()
        due = datetime.fromisoformat(started["tasks"][0]["next_escalation_at"])

    assert "overgang stopped" in stack.stop()
    restart_seconds = stack.start()
    back = datetime.now(UTC)
    print(f"`overgang up` ready in {restart_seconds:.1f} s (restart)")

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        escalated_at = await _wait_for_escalation(http, started["id"], coordinator)
    stack.stop()
    assert escalated_at >= due
    # On time: at `due` when the stack was back before it (as it is on an idle machine),
    # else as soon as the worker is back; a busy machine adds the time a task takes.
    assert escalated_at - max(due, back) < timedelta(seconds=15), (escalated_at, due, back)


async def _wait_for_escalation(http: httpx.AsyncClient, transition_id: str, token: str) -> datetime:
    async def escalated() -> datetime | None:
        response = await http.get(
            f"/api/v1/transitions/{transition_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        events = [e for e in response.json()["timeline"] if e["kind"] == "escalated"]
        return datetime.fromisoformat(events[0]["at"]) if events else None

    return await eventually(
        escalated, timeout=ESCALATION_WAIT + 30, interval=0.5, what="the escalation after restart"
    )
