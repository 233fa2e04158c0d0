"""The full crash suite: `python -m tests.crash.run [--tasks 30] [--scenarios worker postgres]`.

Every scenario gets a fresh cluster (tests/crash/crash_cluster.py), starts its transitions,
kills one part with `kill -9` mid-escalation and counts what arrived
(tests/crash/crash_scenarios.py). Prints the table; exit status 1 if anything was lost or
duplicated by our own outages (the honest edge excepted) or a part did not come back.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# The suite's helpers are imported as the tests import them (pytest puts these folders first).
sys.path[:0] = [str(TESTS / "crash"), str(TESTS)]

from crash_cluster import Cluster  # noqa: E402
from crash_scenarios import SCENARIOS, TABLE_HEADER, Row, run_scenario, table_line  # noqa: E402

LEVEL_SECONDS = 20.0  # each level: long enough for 30 starts to finish within level 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.crash.run", description=__doc__)
    parser.add_argument("--tasks", type=int, default=30, help="transitions per scenario")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument(
        "--level-seconds", type=float, default=LEVEL_SECONDS, help="the policy's level wait"
    )
    parser.add_argument("--keep", action="store_true", help="keep each cluster's folder (logs)")
    return parser.parse_args()


async def one(name: str, tasks: int, level_seconds: float, keep: bool) -> Row:
    folder = Path(tempfile.mkdtemp(prefix=f"overgang-crash-{name.replace('+', '-')}-"))
    cluster = Cluster(folder)
    try:
        seconds = await cluster.start()
        print(f"[{name}] cluster ready in {seconds:.1f} s ({folder})", flush=True)
        return await run_scenario(
            cluster,
            SCENARIOS[name],
            tasks,
            level_seconds,
            log=lambda text: print(f"[{name}] {text}", flush=True),
        )
    finally:
        await cluster.stop()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


async def main() -> int:
    args = arguments()
    started = time.monotonic()
    rows = []
    for name in args.scenarios:
        row = await one(name, args.tasks, args.level_seconds, args.keep)
        print(f"[{name}] {table_line(row)}", flush=True)
        for note in row.notes:
            print(f"[{name}]   {note}", flush=True)
        rows.append(row)
    print(
        f"\nCrash suite: {args.tasks} transitions per scenario, levels of {args.level_seconds:g} s"
    )
    print(TABLE_HEADER)
    for row in rows:
        print(table_line(row))
    for row in rows:
        if row.unexpected or row.failed_rows:
            print(f"{row.scenario}: {row.unexpected} unexpected, {row.failed_rows} failed rows")
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    return 0 if all(row.clean for row in rows) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
