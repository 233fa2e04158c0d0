"""Record the histories the replay tests replay: run each workflow type's scenario through the
API on a fresh embedded stack and save `(await handle.fetch_history()).to_json()`.

A saved history stands for workflows that may be running somewhere: it is never re-recorded
or deleted while its code path can still run. After a change in behaviour (behind
`workflow.patched`, see ARCHITECTURE.md), raise HISTORY_VERSION and record again: the new
files sit beside the old ones, and the replay test replays all of them.

    .venv/bin/python tests/workflows/record_histories.py

Payloads are encrypted with the development codec key, which the replay test uses too.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from domain.handover import HandoverStart, MoveDeadline  # noqa: E402
from domain.tasks import TaskKind  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from foundation.temporal_client import connect  # noqa: E402
from overgang.app import attach, create_app  # noqa: E402
from overgang.embedded import EmbeddedPostgres, TemporalDevServer, free_port  # noqa: E402
from store import patients  # noqa: E402
from store.database import Database  # noqa: E402
from store.migrate import upgrade_async  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.discharge import DischargeWorkflow  # noqa: E402
from workflows.handover import HandoverInput, HandoverWorkflow  # noqa: E402
from workflows.search_attributes import cli_flags  # noqa: E402

from factories import DirectoryFactory, fast_levels, make_fodselsnummer  # noqa: E402
from polling import eventually  # noqa: E402

HISTORIES = Path(__file__).resolve().parent / "histories"
# v1: the first recordings (no version in the name). v2: notices in the background, the
# overdue watcher following its deadline, waiting for background work, LAR objections holding.
# v3: a deadline moved while a handover's step is being opened (deadline-before-step-opens).
HISTORY_VERSION = "v3"


class Recorder:
    def __init__(self, http: httpx.AsyncClient, directory: DirectoryFactory, temporal: Any):
        self.http = http
        self.d = directory
        self.temporal = temporal

    def as_(self, person_id: str) -> dict[str, str]:
        return self.d.headers(person_id)

    async def ok(self, method: str, path: str, who: str, **body: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, json=body or None, headers=self.as_(who))
        assert response.status_code < 300, (path, response.text)
        return response.json()

    async def task(self, transition_id: str, kind: str, owner: str | None = None) -> str:
        async def found() -> str | None:
            response = await self.http.get(
                f"/api/v1/transitions/{transition_id}",
                headers=self.as_(self.d.identity.coordinator),
            )
            if response.status_code == 404:  # not registered yet
                return None
            body = response.json()
            open_ = [t for t in body["tasks"] if t["kind"] == kind and t["status"] == "requested"]
            open_ = [t for t in open_ if owner is None or t["owner_unit_id"] == owner]
            return open_[-1]["id"] if open_ else None

        return await eventually(found, timeout=30, what=f"a {kind} task")

    async def events(self, transition_id: str, kind: str, at_least: int) -> None:
        """Until the timeline shows `at_least` events of `kind` (a timer's work, say)."""

        async def recorded() -> bool:
            body = await self.ok(
                "GET", f"/api/v1/transitions/{transition_id}", self.d.identity.coordinator
            )
            return sum(e["kind"] == kind for e in body["timeline"]) >= at_least

        await eventually(recorded, timeout=30, what=f"{at_least} {kind} event(s)")

    async def walk(self, task_id: str, who: str) -> None:
        for command in ("acknowledge", "accept", "start"):
            await self.ok("POST", f"/api/v1/tasks/{task_id}/{command}", who)
        await self.ok("POST", f"/api/v1/tasks/{task_id}/complete", who, note="ok")

    async def save(self, name: str, workflow_id: str, run_id: str | None = None) -> None:
        """Save a finished run (the last one, unless `run_id` names an earlier one)."""
        handle = self.temporal.get_workflow_handle(workflow_id, run_id=run_id)
        if run_id is None:
            await handle.result()
        history = await handle.fetch_history()
        (HISTORIES / f"{name}_{HISTORY_VERSION}.json").write_text(history.to_json())
        print(f"saved {name}_{HISTORY_VERSION}: {len(history.events)} events")

    async def event(self, transition_id: str, kind: str, count: int = 1) -> None:
        async def found() -> bool:
            response = await self.http.get(
                f"/api/v1/transitions/{transition_id}",
                headers=self.as_(self.d.identity.coordinator),
            )
            events = response.json().get("timeline", []) if response.status_code == 200 else []
            return sum(e["kind"] == kind for e in events) >= count

        await eventually(found, timeout=60, what=f"{count} {kind} event(s)")


async def discharge_journey(r: Recorder) -> None:
    """Every step of a discharge, with a housing child and overliggedøgn."""
    d, who = r.d, r.d.identity
    housing = await d.add_person("bolig", ["municipal_contact"], d.housing)
    body = d.discharge_body(
        needs={"housing": True, "nav": True, "lar": True, "coordinator": True},
        consents={"share_with_housing_office": True},
    )
    started = await r.ok("POST", "/api/v1/discharges", who.coordinator, **body)
    tid, intake = started["id"], started["tasks"][0]["id"]
    base = f"/api/v1/transitions/{tid}"
    await r.ok("POST", f"{base}/ready-for-discharge", who.coordinator)
    await r.events(tid, "waiting_day", at_least=2)  # days of 1 s: the count is running
    await r.ok("POST", f"/api/v1/tasks/{intake}/acknowledge", who.contact)
    await r.ok("POST", f"/api/v1/tasks/{intake}/accept", who.contact)
    await r.walk(await r.task(tid, "housing"), housing)
    await r.ok(
        "POST", f"/api/v1/tasks/{await r.task(tid, 'lar_informed')}/acknowledge", who.contact
    )
    await r.task(tid, "cooperation_meeting")
    await r.ok(
        "POST", f"{base}/meeting", who.coordinator,
        held_on=date.today().isoformat(), participants=["DPS", "kommunen", "pasienten"],
    )  # fmt: skip
    await r.task(tid, "coordinator")
    await r.ok(
        "POST", f"{base}/coordinator", who.contact, coordinator_name="K", individual_plan=True
    )
    new_date = (date.today() + timedelta(days=20)).isoformat()
    await r.ok("PATCH", base, who.coordinator, expected_discharge_date=new_date)
    await r.ok("POST", f"{base}/discharged", who.coordinator)
    await r.task(tid, "follow_up")
    await r.ok("POST", f"{base}/first-contact", who.contact, contacted_on=date.today().isoformat())
    await r.save("discharge_journey", started["workflow_id"])
    detail = await r.ok("GET", base, who.coordinator)
    child = next(c for c in detail["children"] if c["handover_kind"] == "housing")
    await r.save("handover_completed", f"handover-{child['id']}")


async def discharge_cancelled(r: Recorder) -> None:
    who = r.d.identity
    body = r.d.discharge_body(needs={"housing": True}, consents={"share_with_housing_office": True})
    started = await r.ok("POST", "/api/v1/discharges", who.coordinator, **body)
    await r.task(started["id"], "housing")
    await r.ok(
        "POST", f"/api/v1/transitions/{started['id']}/cancel", who.coordinator, reason="Reinnlagt"
    )
    await r.save("discharge_cancelled", started["workflow_id"])


async def handover_double_bounce(r: Recorder) -> None:
    d, who = r.d, r.d.identity
    nav = await d.add_person("nav", ["municipal_contact"], d.nav)
    body = {
        "origin_unit_id": d.dps,
        "municipality_number": d.number,
        "reason": "Behandler slutter",
        "patients": [{"patient": {"fodselsnummer": make_fodselsnummer(), "name": "P"}}],
    }
    response = await r.http.post(
        "/api/v1/portfolio-transfers",
        json=body,
        headers=r.as_(who.coordinator) | {"Idempotency-Key": "record-bounce"},
    )
    assert response.status_code == 202, response.text
    [tid] = response.json()["transition_ids"]
    for owner, who_rejects, to in ((d.intake, who.contact, d.nav), (d.nav, nav, d.other_unit)):
        task = await r.task(tid, "handover", owner)
        await r.ok(
            "POST",
            f"/api/v1/tasks/{task}/reject",
            who_rejects,
            reason="Ikke oss",
            forward_to_unit_id=to,
        )
    await r.walk(await r.task(tid, "handover", d.other_unit), who.outsider)
    await r.save("handover_double_bounce", f"handover-{tid}")


async def lar_override(r: Recorder) -> None:
    d = r.d
    physician = await d.add_person("lar-lege", ["lar_physician"], d.dps)
    body = {
        "patient": {"fodselsnummer": make_fodselsnummer(), "name": "L"},
        "municipality_number": d.number,
        "origin_unit_id": d.dps,
        "dispensing_unit_id": d.other_unit,
        "proposal": {
            "dose": "metadon 80 mg", "dispensing_site": "Hjemmetjenesten",
            "pick_up_regime": "ukentlig", "take_home_doses": 6, "reason": "Stabil",
        },
        "effective_date": date.today().isoformat(),
    }  # fmt: skip
    started = await r.ok("POST", "/api/v1/lar-changes", physician, **body)
    base = f"/api/v1/lar-changes/{started['id']}"
    await r.ok("POST", f"{base}/patient-view", physician, view="Ønsker færre hentedager")
    await r.ok("POST", f"{base}/override", physician, reason="Kommunen svarer ikke")
    await r.walk(await r.task(started["id"], "lar_implementation"), d.identity.outsider)
    await r.save("lar_override", f"lar-change-{started['id']}")


async def lar_answered(r: Recorder) -> None:
    d = r.d
    consultant = await d.add_person("lar-konsulent", ["lar_consultant"], d.dps)
    body = {
        "patient": {"fodselsnummer": make_fodselsnummer(), "name": "M"},
        "municipality_number": d.number,
        "origin_unit_id": d.dps,
        "dispensing_unit_id": d.other_unit,
        "proposal": {
            "dose": "buprenorfin 16 mg", "dispensing_site": "Apotek", "pick_up_regime": "daglig",
            "take_home_doses": 0, "reason": "Ustabil",
        },
        "effective_date": date.today().isoformat(),
    }  # fmt: skip
    started = await r.ok("POST", "/api/v1/lar-changes", consultant, **body)
    consultation = started["tasks"][0]["id"]
    await r.ok("POST", f"/api/v1/tasks/{consultation}/acknowledge", d.identity.contact)
    await r.ok(
        "POST", f"/api/v1/lar-changes/{started['id']}/answer", d.identity.contact,
        agree=True, comment="Vi kan utlevere tirsdag",
    )  # fmt: skip
    await r.walk(await r.task(started["id"], "lar_implementation"), d.identity.outsider)
    await r.save("lar_answered", f"lar-change-{started['id']}")


def lar_body(d: DirectoryFactory, **proposal: Any) -> dict[str, Any]:
    return {
        "patient": {"fodselsnummer": make_fodselsnummer(), "name": "N"},
        "municipality_number": d.number,
        "origin_unit_id": d.dps,
        "dispensing_unit_id": d.other_unit,
        "proposal": {
            "dose": "metadon 80 mg", "dispensing_site": "Apotek", "pick_up_regime": "daglig",
            "take_home_doses": 0, "reason": "Stabil", **proposal,
        },
        "effective_date": date.today().isoformat(),
    }  # fmt: skip


async def objected(r: Recorder, proposer: str) -> tuple[str, str]:
    """A LAR change the municipality objected to: (transition id, its base path)."""
    started = await r.ok("POST", "/api/v1/lar-changes", proposer, **lar_body(r.d))
    consultation = started["tasks"][0]["id"]
    contact = r.d.identity.contact
    await r.ok("POST", f"/api/v1/tasks/{consultation}/acknowledge", contact)
    base = f"/api/v1/lar-changes/{started['id']}"
    await r.ok("POST", f"{base}/answer", contact, agree=False, comment="Ikke kapasitet")
    return started["id"], base


async def lar_objection_overridden(r: Recorder) -> None:
    physician = await r.d.add_person("lar-lege-2", ["lar_physician"], r.d.dps)
    tid, base = await objected(r, physician)
    await r.ok("POST", f"{base}/override", physician, reason="Pasienten mister jobben")
    await r.walk(await r.task(tid, "lar_implementation"), r.d.identity.outsider)
    await r.save("lar_objection_overridden", f"lar-change-{tid}")


async def lar_revised(r: Recorder) -> None:
    consultant = await r.d.add_person("lar-konsulent-2", ["lar_consultant"], r.d.dps)
    tid, base = await objected(r, consultant)
    proposal = lar_body(r.d, pick_up_regime="tre ganger i uka")["proposal"]
    await r.ok(
        "POST", f"{base}/revise", consultant,
        proposal=proposal, effective_date=date.today().isoformat(),
    )  # fmt: skip
    contact = r.d.identity.contact
    await r.ok(
        "POST", f"/api/v1/tasks/{await r.task(tid, 'lar_consultation')}/acknowledge", contact
    )
    await r.ok("POST", f"{base}/answer", contact, agree=True, comment="Greit")
    await r.walk(await r.task(tid, "lar_implementation"), r.d.identity.outsider)
    await r.save("lar_revised", f"lar-change-{tid}")


async def lar_withdrawn(r: Recorder) -> None:
    consultant = await r.d.add_person("lar-konsulent-3", ["lar_consultant"], r.d.dps)
    tid, base = await objected(r, consultant)
    await r.ok("POST", f"{base}/withdraw", consultant, reason="Kommunen har rett")
    await r.save("lar_withdrawn", f"lar-change-{tid}")


async def discharge_escalated_and_continued(r: Recorder) -> None:
    """Escalation, reminders and the overdue flag, then a continue-as-new asked for by an
    operator in the middle of it; the step is then taken and the transition ends."""
    d, who = r.d, r.d.identity
    await d.set_policy(fast_levels(seconds=1, repeat=1), version=90)
    started = await r.ok("POST", "/api/v1/discharges", who.coordinator, **d.discharge_body())
    tid, workflow_id = started["id"], started["workflow_id"]
    await r.event(tid, "escalated", count=2)
    await r.event(tid, "reminded")
    await r.event(tid, "task_overdue")
    handle = r.temporal.get_workflow_handle(workflow_id)
    first_run = (await handle.describe()).run_id
    await handle.signal(DischargeWorkflow.continue_as_new_now)

    async def continued() -> bool:
        return bool((await handle.describe()).run_id != first_run)

    await eventually(continued, timeout=30, what="the next run")
    await d.set_policy(fast_levels(seconds=3600), version=91)
    intake = started["tasks"][0]["id"]
    for command in ("acknowledge", "accept"):
        await r.ok("POST", f"/api/v1/tasks/{intake}/{command}", who.contact)
    base = f"/api/v1/transitions/{tid}"
    await r.ok("POST", f"{base}/discharged", who.coordinator, planned=False)
    await r.task(tid, "follow_up")
    await r.ok("POST", f"{base}/first-contact", who.contact, contacted_on=date.today().isoformat())
    await r.save("discharge_continued_first_run", workflow_id, run_id=first_run)
    await r.save("discharge_continued", workflow_id)


async def discharge_email_failed(r: Recorder) -> None:
    """An e-mail nobody can deliver: on the timeline, and the contact reached in-app instead.
    Needs a notification activity that reports failures (NotificationReceipt.failures)."""
    d, who = r.d, r.d.identity
    levels = fast_levels(seconds=3600)
    levels[0]["channels"] = ["email"]
    await d.set_policy(levels, version=92)
    started = await r.ok("POST", "/api/v1/discharges", who.coordinator, **d.discharge_body())
    tid = started["id"]
    await r.event(tid, "notification_failed")
    await r.event(tid, "notified")  # the fallback, in-app
    await d.set_policy(fast_levels(seconds=3600), version=93)
    await r.ok("POST", f"/api/v1/transitions/{tid}/cancel", who.coordinator, reason="Reinnlagt")
    await r.save("discharge_email_failed", started["workflow_id"])


async def handover_deadline_moved_at_start(r: Recorder) -> None:
    """The parent's move arrives with the handover's start, before its step is open."""
    d = r.d
    async with d.db.transaction() as session:
        patient = await patients.find_or_add(session, fodselsnummer=make_fodselsnummer(), name="P")
    now = datetime.now(UTC)
    start = HandoverStart(
        transition_id=str(uuid.uuid4()),
        kind=TaskKind.HANDOVER,
        patient_id=patient,
        municipality_number=d.number,
        origin_unit_id=d.dps,
        owner_unit_id=d.intake,
        started_by=d.identity.coordinator,
        what_matters="Å ha noen å ringe",
        purpose="Behandler slutter",
        due_at=now + timedelta(days=2),
    )
    await r.temporal.start_workflow(
        HandoverWorkflow.run,
        HandoverInput(start=start),
        id=f"handover-{start.transition_id}",
        task_queue="overgang-record",
        start_signal="move_deadline",
        start_signal_args=[MoveDeadline(due_at=now + timedelta(days=5))],
    )
    tid = start.transition_id
    await r.walk(await r.task(tid, "handover", d.intake), d.identity.contact)
    await r.save("handover_deadline_moved_at_start", f"handover-{tid}")


SCENARIOS = (
    discharge_journey,
    discharge_cancelled,
    handover_double_bounce,
    lar_override,
    lar_answered,
    lar_objection_overridden,
    lar_revised,
    lar_withdrawn,
    discharge_escalated_and_continued,
    discharge_email_failed,
    handover_deadline_moved_at_start,
)


@asynccontextmanager
async def stack(folder: Path) -> AsyncIterator[Recorder]:
    settings = Settings(
        environment="test",
        state_dir=folder,
        temporal_task_queue="overgang-record",
        waiting_day_length=timedelta(seconds=1),
        follow_up_within=timedelta(seconds=30),
        smtp_port=free_port(),  # no mail server: every e-mail fails
    )
    postgres = EmbeddedPostgres(folder / "postgres", delete_on_stop=True)
    postgres.start()
    server = TemporalDevServer(
        folder / "temporal.db", port=free_port(), ui_port=None,
        search_attributes=cli_flags(), log_file=folder / "temporal.log",
    )  # fmt: skip
    await server.start()
    try:
        await upgrade_async(postgres.sqlalchemy_url())
        db = Database(postgres.sqlalchemy_url())
        temporal = await connect(settings, server.address)
        worker = build_worker(temporal, db, settings)
        running = asyncio.create_task(worker.run())
        app = create_app(settings, database_url=db.url)
        attach(app, db, temporal)
        directory = DirectoryFactory(db, settings)
        await directory.create()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://record") as http:
            yield Recorder(http, directory, temporal)
        await worker.shutdown()
        await running
        await db.dispose()
    finally:
        await server.stop()
        postgres.stop()


async def main(names: list[str]) -> None:
    """Record every scenario, or those named on the command line."""
    chosen = [s for s in SCENARIOS if not names or s.__name__ in names]
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        async with stack(Path(folder)) as recorder:
            for scenario in chosen:
                await scenario(recorder)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
