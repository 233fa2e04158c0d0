"""Child processes that die with their parent, and plain words for how a process ended.

Each server runs in its own process group (Ctrl-C in a terminal reaches only the supervisor,
which stops the servers in order) and asks the kernel for a signal when its parent dies
(PR_SET_PDEATHSIG), so a `kill -9` of `overgang up` leaves no server behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
# Resolved before any fork: the child only calls it (no import, no lookup after fork).
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def die_with_parent(signum: signal.Signals) -> Callable[[], None]:
    """A preexec_fn: the child gets `signum` when the thread that spawned it exits.

    Spawn from the event loop's thread (it lives as long as the supervisor), never from a
    worker thread, which may exit first. Run after setuid, which clears the setting."""
    parent = os.getpid()

    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signum)

    return preexec


def exit_description(returncode: int) -> str:
    """`exit status 1`, or `killed by SIGKILL` for a negative Popen return code."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


async def wait_for_exit(process: subprocess.Popen[bytes], interval: float = 0.1) -> int:
    """The return code once the process has exited (polled: it also reaps the zombie)."""
    while (code := process.poll()) is None:  # noqa: ASYNC110 (Popen has no awaitable exit)
        await asyncio.sleep(interval)
    return code


def signal_group(pid: int, signum: signal.Signals) -> None:
    """Signal a process group led by pid; nothing if it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
