"""Observation 7 of issue 12: after an outage the escalation chain resumes promptly, one
blocked read-model write does not hold the escalation clock, and reminders that fell due while
nothing could run are on the timeline as skipped. Real time on the session's Temporal with the
real PostgreSQL, whose writes for one transition are blocked or refused for a while."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from temporalio.client import WorkflowHandle

from foundation.settings import Settings
from overgang.embedded import TemporalDevServer
from store.database import Database
from store.tables import Transition
from workflows.discharge import DischargeWorkflow

from factories import DirectoryFactory, fast_levels, start_discharge
from polling import eventually
from stacks import stack_on, timeline, worker_for

LEVEL_SECONDS = 2


async def level_in_workflow(handle: WorkflowHandle[Any, Any], level: int) -> bool:
    """The workflow's own state (a query), whatever the read model says."""
    view = await handle.query(DischargeWorkflow.view)
    return any(t.escalation.level >= level for t in view.tasks)


def escalations(events: list[Any]) -> dict[int, datetime]:
    return {
        int(e["detail"]["level"]): datetime.fromisoformat(e["at"])
        for e in events
        if e["kind"] == "escalated"
    }


async def test_a_blocked_read_model_write_does_not_hold_the_escalation_clock(
    temporal_server: TemporalDevServer,
    settings: Settings,
    db: Database,
    directory: DirectoryFactory,
) -> None:
    await directory.set_policy(fast_levels(seconds=LEVEL_SECONDS), version=2)
    async with stack_on(temporal_server, settings, db) as (http, client):
        started = await start_discharge(http, directory)
        tid = started["id"]
        handle = client.get_workflow_handle(started["workflow_id"])
        # Hold the transition's row: every write of its read model waits (a stuck database).
        async with db.transaction() as session:
            await session.execute(select(Transition).where(Transition.id == tid).with_for_update())
            await eventually(
                lambda: level_in_workflow(handle, 2),
                timeout=4 * LEVEL_SECONDS,
                what="level 2 in the workflow while its read model is blocked",
            )
        headers = directory.headers(directory.identity.coordinator)

        async def both_levels() -> dict[int, datetime] | None:
            found = escalations(await timeline(http, headers, tid))
            return found if {1, 2} <= found.keys() else None

        levels = await eventually(both_levels, timeout=30, what="both escalations written")
        gap = (levels[2] - levels[1]).total_seconds()
        assert LEVEL_SECONDS <= gap < LEVEL_SECONDS + 1, f"level 2 came {gap:.1f} s after level 1"


async def test_read_model_writes_catch_up_promptly_when_the_database_is_back(
    temporal_server: TemporalDevServer,
    settings: Settings,
    db: Database,
    directory: DirectoryFactory,
) -> None:
    await directory.set_policy(fast_levels(seconds=LEVEL_SECONDS), version=2)
    async with stack_on(temporal_server, settings, db) as (http, client):
        started = await start_discharge(http, directory)
        tid = started["id"]
        handle = client.get_workflow_handle(started["workflow_id"])
        trigger = f"refuse_{tid.replace('-', '_')}"
        async with db.transaction() as session:  # the events table refuses this transition
            await session.execute(
                text(
                    f"CREATE FUNCTION {trigger}() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.transition_id = '{tid}' THEN RAISE EXCEPTION 'read model down'; "
                    "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await session.execute(
                text(
                    f"CREATE TRIGGER {trigger} BEFORE INSERT ON events "
                    f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
                )
            )
        try:
            await eventually(
                lambda: write_attempts(handle, 5), timeout=60, what="five failed write attempts"
            )
        finally:
            async with db.transaction() as session:
                await session.execute(text(f"DROP TRIGGER {trigger} ON events"))
                await session.execute(text(f"DROP FUNCTION {trigger}()"))
        back = time.monotonic()
        headers = directory.headers(directory.identity.coordinator)

        async def escalated() -> bool:
            return 1 in escalations(await timeline(http, headers, tid))

        await eventually(escalated, timeout=60, interval=0.1, what="the escalation written")
        caught_up = time.monotonic() - back
        assert caught_up < 5, f"the read model caught up {caught_up:.1f} s after the database"


async def write_attempts(handle: WorkflowHandle[Any, Any], at_least: int) -> bool:
    pending = (await handle.describe()).raw_description.pending_activities
    return any(p.activity_type.name == "project" and p.attempt >= at_least for p in pending)


OUTAGE_SECONDS = 4


async def test_reminders_that_fall_due_while_the_worker_is_down_are_recorded_as_skipped(
    temporal_server: TemporalDevServer,
    settings: Settings,
    db: Database,
    directory: DirectoryFactory,
) -> None:
    await directory.set_policy(fast_levels(seconds=3600, repeat=1), version=2)
    queue = "overgang-outage-reminders"
    stack = stack_on(temporal_server, settings, db, with_worker=False, temporal_task_queue=queue)
    async with stack as (http, client):
        headers = directory.headers(directory.identity.coordinator)
        async with worker_for(client, db, settings, queue):
            started = await start_discharge(http, directory)
            tid = started["id"]

            async def reminded() -> bool:
                events = await timeline(http, headers, tid)
                return sum(e["kind"] == "reminded" for e in events) >= 1

            await eventually(reminded, timeout=30, what="a first reminder")
        # The worker is gone: reminders fall due with nobody to send them.
        await asyncio.sleep(OUTAGE_SECONDS)
        async with worker_for(client, db, settings, queue):

            async def skipped() -> list[Any] | None:
                events = await timeline(http, headers, tid)
                return [e for e in events if e["kind"] == "reminders_skipped"] or None

            [record] = await eventually(skipped, timeout=30, what="the skipped reminders")
    assert int(record["detail"]["count"]) >= OUTAGE_SECONDS - 2
    assert record["detail"]["first_due_at"] < record["detail"]["last_due_at"]
