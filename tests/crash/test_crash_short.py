"""The crash suite, short: a few transitions escalating on all three channels while the
second worker and then the PostgreSQL postmaster are killed with `kill -9`; nothing may be
lost or sent twice, and every part comes back with no human (issue 12). The full table is
`python -m tests.crash.run` (README, "Crash suite")."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from crash_cluster import Cluster
from crash_scenarios import SCENARIOS, run_scenario, table_line

TASKS = 4
LEVEL_SECONDS = 8.0


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    # Not under pytest's tmp_path: every pytest session that starts on this machine sets
    # /tmp/pytest-of-<user> back to 0700, shutting out PostgreSQL's system user midway.
    folder = Path(tempfile.mkdtemp(prefix="overgang-crash-"))
    running = Cluster(folder)
    try:
        await running.start()
        yield running
    finally:
        await running.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(300)  # a whole cluster of processes on a busy machine
async def test_kill_9_of_a_worker_and_of_postgres_loses_and_duplicates_nothing(
    cluster: Cluster,
) -> None:
    for name in ("worker", "postgres"):
        # Killed as level 1 begins: its burst of deliveries meets the outage.
        row = await run_scenario(
            cluster, SCENARIOS[name], TASKS, LEVEL_SECONDS, timeout=150, kill_at=0.1
        )
        print(table_line(row), *row.notes, sep="\n  ")
        assert row.tasks == TASKS
        assert row.expected == 13 * TASKS  # 3 levels: 1, 2 and 2 people × 2 channels + webhook
        assert (row.delivered, row.lost, row.duplicated) == (row.expected, 0, 0), row.notes
        assert row.unexpected == 0 and row.failed_rows == 0
        assert row.recover_seconds is not None, f"{name} did not come back"
