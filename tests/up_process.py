"""`overgang up` as an operator runs it: a subprocess on free ports with its own state folder,
its output kept in a file (so a full pipe can never stall it), and the processes it leaves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from api.auth.tokens import DevelopmentIssuer
from foundation.settings import Settings
from overgang.embedded import free_port

OVERGANG = str(Path(sys.executable).parent / "overgang")
READY_MARKER = "stop with Ctrl-C"


def terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then a kill if it has not ended within `timeout`: `overgang up` stops its
    PostgreSQL and Temporal on SIGTERM, where a kill would orphan them."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class UpProcess:
    """One state folder and its ports; `start` may be called again after a stop or a kill."""

    def __init__(self, state_dir: Path, **env: str) -> None:
        self.state_dir = state_dir
        self.ports = {name: free_port() for name in ("api", "temporal", "ui", "smtp")}
        self.env = {
            **os.environ,
            "OVERGANG_STATE_DIR": str(state_dir),
            "OVERGANG_API_PORT": str(self.ports["api"]),
            "OVERGANG_TEMPORAL_PORT": str(self.ports["temporal"]),
            "OVERGANG_TEMPORAL_UI_PORT": str(self.ports["ui"]),
            "OVERGANG_SMTP_PORT": str(self.ports["smtp"]),
            **env,
        }
        for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "OVERGANG_SMTP_HOST"):
            self.env.pop(name, None)
        self.base_url = f"http://127.0.0.1:{self.ports['api']}"
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def log_file(self) -> Path:
        return self.state_dir.parent / f"up-{self.runs}.out"

    def spawn(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as out:
            self.process = subprocess.Popen(
                [OVERGANG, "up"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self.process

    def start(self, timeout: float = 90) -> float:
        """Start `overgang up`; return the seconds until it said it is ready."""
        started = time.monotonic()
        process = self.spawn()
        while READY_MARKER not in self.output():
            if process.poll() is not None or time.monotonic() - started > timeout:
                raise AssertionError(f"`overgang up` did not get ready:\n{self.output()}")
            time.sleep(0.1)
        return time.monotonic() - started

    def output(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def wait_for_output(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                raise AssertionError(f"`overgang up` did not say {text!r}:\n{self.output()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """/readyz's status and JSON body; (0, {}) while the API does not answer."""
        try:
            response = httpx.get(f"{self.base_url}/readyz", timeout=10)
        except httpx.HTTPError:
            return 0, {}
        return response.status_code, response.json()

    def token(self, person_id: str) -> str:
        """What `overgang token` prints, minted here with the state folder's development key
        (a Python start fewer per person)."""
        return DevelopmentIssuer(Settings(state_dir=self.state_dir)).mint(person_id)

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [OVERGANG, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def servers(self) -> list[psutil.Process]:
        """Live processes serving this state folder (its path is on their command line)."""
        return [p for p in _live_processes() if _names(p, str(self.state_dir))]

    def server(self, name: str) -> psutil.Process:
        """The one live `postgres` postmaster or `temporal` server of this state folder."""
        found = [p for p in self.servers() if p.info["name"] == name and _is_main(p)]
        assert len(found) == 1, (name, found, self.output())
        return found[0]


def _live_processes() -> list[psutil.Process]:
    live = []
    for process in psutil.process_iter(["name", "cmdline", "status", "ppid"]):
        if process.info["status"] != psutil.STATUS_ZOMBIE and process.pid != os.getpid():
            live.append(process)
    return live


def _names(process: psutil.Process, text: str) -> bool:
    return any(text in part for part in process.info["cmdline"] or [])


def _is_main(process: psutil.Process) -> bool:
    """The postmaster, not one of its backends (a backend's parent is a postgres too)."""
    try:
        return psutil.Process(process.info["ppid"]).name() != process.info["name"]
    except psutil.Error:
        return True


def wait_until(probe: Any, *, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll probe() until truthy; return the seconds it took, fail with `what` after timeout."""
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - started
