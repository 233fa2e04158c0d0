"""The supervisor's rules on real processes (`sleep`, small enough to kill many times): a part
that dies comes back, with one line saying what died and how; a part that cannot start is
tried again with growing waits; a part stopped on purpose stays stopped; and a server
spawned with die_with_parent does not outlive its parent, even a `kill -9`ed one."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from overgang.embedded.processes import die_with_parent, exit_description, wait_for_exit
from overgang.supervisor import Backoff, ServerPart, Supervisor

from polling import eventually

QUICK = Backoff(first=0.01, most=0.04, steady=60)


class Sleeper:
    """A stand-in server process: `sleep`, spawned the way the real servers are."""

    def __init__(self, failing_starts: int = 0) -> None:
        self.failing_starts = failing_starts
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    async def start(self) -> None:
        if self.failing_starts:
            self.failing_starts -= 1
            raise RuntimeError("port 1 is taken\nsecond line of the log")
        # In the loop's thread, as the real servers are (see die_with_parent).
        self.process = subprocess.Popen(  # noqa: ASYNC220
            ["sleep", "60"], process_group=0, preexec_fn=die_with_parent(signal.SIGTERM)
        )

    async def wait(self) -> int:
        assert self.process is not None
        return await wait_for_exit(self.process)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await wait_for_exit(self.process)


async def test_a_killed_part_comes_back_and_says_so_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor(backoff=QUICK)
    sleeper = Sleeper()
    await supervisor.start(ServerPart("sleeper", sleeper, on_start=lambda pid: None))
    supervisor.watch()
    first = sleeper.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)

    await eventually(
        lambda: _true(len(said(caplog)) == 2), timeout=10, interval=0.02, what="two lines"
    )
    died, back = said(caplog)
    assert died == (
        logging.WARNING,
        f"sleeper (pid {first}) died: killed by SIGKILL; restarting in 0.01 s",
    )
    assert back[0] == logging.INFO
    assert back[1].startswith(f"sleeper (pid {sleeper.pid}) is back after ")
    assert sleeper.pid != first and supervisor.status() == {"sleeper": True}
    await supervisor.stop()


async def test_a_part_that_cannot_start_is_tried_again_with_growing_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor(backoff=QUICK)
    sleeper = Sleeper()
    await supervisor.start(ServerPart("sleeper", sleeper, on_start=lambda pid: None))
    supervisor.watch()
    sleeper.failing_starts = 3
    assert sleeper.process is not None
    sleeper.process.kill()

    await eventually(
        lambda: _true(any("is back" in line for _, line in said(caplog))),
        timeout=10,
        interval=0.02,
    )
    failures = [line for _, line in said(caplog) if "did not start" in line]
    assert failures == [
        f"sleeper did not start: port 1 is taken; next try in {wait} s"
        for wait in (0.02, 0.04, 0.04)  # doubling, up to the most
    ]
    await supervisor.stop()


async def test_a_stopped_part_stays_stopped(caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor(backoff=QUICK)
    sleeper = Sleeper()
    part = ServerPart("sleeper", sleeper, on_start=lambda pid: None)
    await supervisor.start(part)
    supervisor.watch()
    await supervisor.stop(part)
    await asyncio.sleep(0.1)  # several backoff periods: a restart would have happened
    assert sleeper.process is not None and sleeper.process.poll() is not None
    assert said(caplog) == [] and supervisor.status() == {"sleeper": False}


def test_a_server_dies_with_its_killed_parent() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    parent.kill()
    parent.wait()
    child.wait(timeout=10)  # it got SIGTERM, as the Temporal server does
    assert not child.is_running()


PARENT = textwrap.dedent(
    """
    import signal, subprocess
    from overgang.embedded.processes import die_with_parent
    child = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent(signal.SIGTERM))
    print(child.pid, flush=True)
    signal.pause()  # until the test kills this parent
    """
)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (0, "exit status 0"),
        (3, "exit status 3"),
        (-9, "killed by SIGKILL"),
        (-200, "killed by signal 200"),
    ],
)
def test_exit_descriptions(code: int, words: str) -> None:
    assert exit_description(code) == words


async def _true(value: bool) -> bool:
    return value


def said(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """The supervisor's log lines so far, as (level, message)."""
    records = caplog.records
    return [(r.levelno, r.getMessage()) for r in records if r.name == "overgang.supervisor"]


@pytest.fixture(autouse=True)
def _supervisor_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="overgang.supervisor")
