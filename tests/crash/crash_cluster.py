"""A real cluster for the crash suite, each part its own OS process: `overgang up` (which
supervises the embedded PostgreSQL and the Temporal dev server and runs a worker and an API
itself), a second `overgang worker` and a second `overgang api` against the same PostgreSQL
and Temporal, a real SMTP server (aiosmtpd) and a real webhook receiver in this process.

This process plays the service manager: a killed `overgang up`, worker or API is started
again at once, as systemd's `Restart=always` would, and nothing else is done by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from mail_sink import SmtpServer
from up_process import OVERGANG, READY_MARKER, UpProcess, terminate
from webhook_receiver import WebhookReceiver

from domain.escalation import Channel, EscalationLevel, Recipient
from overgang.embedded import free_port
from overgang.embedded.postgres import live_postmaster_pid, socket_dir_for, sqlalchemy_url
from overgang.embedded.processes import die_with_parent
from store.database import Database

from polling import eventually

WEBHOOK_SECRET = "whsec-crash-suite"
ALL_CHANNELS = (Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK)
# Who each level reaches, and how many people that is in a DirectoryFactory municipality:
# the intake unit's contact; its backup and its leader; the municipal and the DPS leader.
LEVEL_RECIPIENTS = (
    (Recipient.OWNER_UNIT,),
    (Recipient.BACKUP_CONTACTS, Recipient.UNIT_LEADER),
    (Recipient.MUNICIPAL_LEADER, Recipient.ORIGIN_LEADER),
)


def crash_policy(level_seconds: float) -> list[dict[str, Any]]:
    """Three levels of `level_seconds`, around the clock, every level on all three channels
    and without reminders, so that each task's deliveries are a fixed set."""
    return [
        EscalationLevel(
            wait=timedelta(seconds=level_seconds),
            business_time=False,
            reach_on_call_now=True,
            notify=notify,
            channels=ALL_CHANNELS,
            repeat_every=None,
        ).model_dump(mode="json")
        for notify in LEVEL_RECIPIENTS
    ]


@dataclass
class Managed:
    """A process this harness keeps running, as a service manager would."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with (self.log_dir / f"{self.name}-{self.starts}.out").open("wb") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Never outlive the harness, even if it is killed itself.
                preexec_fn=die_with_parent(signal.SIGKILL),
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()

    def tend(self) -> bool:
        """Start it again if it died; True if it did."""
        if self.alive():
            return False
        self.start()
        return True

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            terminate(self.process, timeout=30)


class ManagedUp(UpProcess):
    """`overgang up` spawned so that it dies with this harness (not with a worker thread:
    spawned from the event loop's thread only)."""

    def spawn(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as out:
            self.process = subprocess.Popen(
                [OVERGANG, "up"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        return self.process

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tend(self) -> bool:
        """Start `overgang up` again if it died (it clears what the dead one left)."""
        if self.alive():
            return False
        self.spawn()
        return True


@dataclass
class Cluster:
    """The parts, their addresses, and what the receivers got."""

    root: Path
    up: ManagedUp = field(init=False)
    worker: Managed = field(init=False)
    api: Managed = field(init=False)
    smtp: SmtpServer = field(init=False)
    hooks: WebhookReceiver = field(init=False)
    db: Database | None = None

    def __post_init__(self) -> None:
        self.smtp = SmtpServer(free_port())
        self.hooks = WebhookReceiver(WEBHOOK_SECRET)
        self.up = ManagedUp(self.root / "state", OVERGANG_LOG_FORMAT="json")
        # UpProcess clears OVERGANG_SMTP_HOST; naming it here turns the mail catcher off
        # and sends every e-mail to the real SMTP server of this harness.
        self.up.env["OVERGANG_SMTP_HOST"] = "127.0.0.1"
        self.up.env["OVERGANG_SMTP_PORT"] = str(self.smtp.port)
        api_port = free_port()
        self.second_api_url = f"http://127.0.0.1:{api_port}"
        worker_env = {**self.up.env, "OVERGANG_WORKER_METRICS_PORT": str(free_port())}
        api_env = {**self.up.env, "OVERGANG_API_PORT": str(api_port)}
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.worker = Managed("worker", [OVERGANG, "worker"], worker_env, logs)
        self.api = Managed("api", [OVERGANG, "api"], api_env, logs)

    @property
    def api_urls(self) -> tuple[str, str]:
        return self.up.base_url, self.second_api_url

    @property
    def database_url(self) -> str:
        return sqlalchemy_url(socket_dir_for(self.up.state_dir.resolve() / "postgres"))

    async def start(self, timeout: float = 180) -> float:  # noqa: ASYNC109
        """Everything up and ready; returns the seconds it took."""
        started = time.monotonic()
        self.smtp.start()
        self.hooks.start()
        self.up.spawn()
        await self._until(lambda: READY_MARKER in self.up.output(), timeout, "`overgang up`")
        self.worker.start()
        self.api.start()
        await self.until_ready(timeout)
        self.db = Database(self.database_url)
        return time.monotonic() - started

    async def _until(self, probe: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
        async def reached() -> bool | None:
            if not self.up.alive():
                raise AssertionError(f"`overgang up` exited:\n{self.up.output()[-3000:]}")
            return probe() or None

        await eventually(reached, timeout=timeout, what=what)

    def tend(self) -> list[str]:
        """The service manager's round: start again whatever died; names what was."""
        return [
            part.name if isinstance(part, Managed) else "up"
            for part in (self.up, self.worker, self.api)
            if part.tend()
        ]

    async def readiness(self) -> list[int]:
        """/readyz's status on both APIs (0 where nothing answers)."""
        async with httpx.AsyncClient(timeout=10) as http:
            return list(await asyncio.gather(*(_status(http, url) for url in self.api_urls)))

    async def ready(self) -> bool:
        return all(status == 200 for status in await self.readiness())

    async def until_ready(self, timeout: float) -> None:  # noqa: ASYNC109
        async def ready() -> bool | None:
            self.tend()
            return await self.ready() or None

        await eventually(ready, timeout=timeout, interval=0.25, what="the cluster to be ready")

    def postmaster_pid(self) -> int:
        pid = live_postmaster_pid(self.up.state_dir.resolve() / "postgres")
        assert pid is not None, "no live postmaster"
        return pid

    def temporal_pid(self) -> int:
        """From the pid file `overgang up` keeps for its Temporal server."""
        recorded = json.loads((self.up.state_dir.resolve() / "temporal.pid").read_text())
        return int(recorded["pid"])

    async def stop(self) -> None:
        if self.db is not None:
            await self.db.dispose()
        self.api.stop()
        self.worker.stop()
        if self.up.alive():
            self.up.stop()
        for process in self.up.servers():  # whatever a failed run left: never leak servers
            process.kill()
        self.hooks.stop()
        self.smtp.stop()


async def _status(http: httpx.AsyncClient, base_url: str) -> int:
    try:
        return (await http.get(f"{base_url}/readyz")).status_code
    except httpx.HTTPError:
        return 0
