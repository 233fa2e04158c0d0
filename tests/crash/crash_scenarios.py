"""The crash scenarios: N transitions escalate over three levels on all three channels, one
part of the cluster is killed with `kill -9` in the middle, and the receivers' side is
counted against what the policy promises.

A delivery is one (task, level, channel, recipient): an in-app notice to a person (a row in
PostgreSQL, which is where the inbox reads it), an e-mail to a person (at the SMTP server,
by Message-ID) or a webhook to the task's unit (at the receiver, by X-Overgang-Delivery).
Lost: promised and never arrived. Duplicated: arrived more than once. A duplicate that
carries the same id while our own record counts two or more send attempts is the honest
edge (the process died between the remote side's accept and our record of it) and is
reported apart; any other duplicate is ours.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from channels import make_reachable
from crash_cluster import LEVEL_RECIPIENTS, WEBHOOK_SECRET, Cluster, crash_policy
from mail_sink import ReceivedMail
from sqlalchemy import select

from domain.escalation import Channel, Recipient
from foundation.settings import Settings
from store.tables import NotificationRow

from factories import DirectoryFactory, Identity
from polling import eventually

Slot = tuple[str, int, str, str]  # (task id, level, channel, person or unit id)
TASK_LINK = re.compile(r"/oppgaver/([0-9a-f-]{36})")
LEVEL_IN_SUBJECT = re.compile(r"\(nivå (\d+)\)")
QUIET_SECONDS = 3.0  # after the last promised delivery: time for a late duplicate to show


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    kill: Callable[[Cluster], None]
    # Whether it kills a process that sends (runs activities): only then can a duplicate
    # be the honest edge; after any other kill a duplicate is ours, whatever the record says.
    kills_a_sender: bool


def _kill_group(pid: int) -> None:
    """kill -9 of a server and its process group (its backends, its children)."""
    os.killpg(pid, signal.SIGKILL)


def _kill_up(cluster: Cluster) -> None:
    assert cluster.up.process is not None
    os.kill(cluster.up.process.pid, signal.SIGKILL)
    cluster.up.process.wait()


def _kill_worker_and_api(cluster: Cluster) -> None:
    cluster.worker.kill9()
    cluster.api.kill9()


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("worker", "the second worker process", lambda c: c.worker.kill9(), True),
        Scenario("api", "the second API process", lambda c: c.api.kill9(), False),
        Scenario("up", "`overgang up` itself (its servers die with it)", _kill_up, True),
        Scenario(
            "temporal", "the Temporal dev server", lambda c: _kill_group(c.temporal_pid()), False
        ),
        Scenario(
            "postgres",
            "the PostgreSQL postmaster",
            lambda c: _kill_group(c.postmaster_pid()),
            False,
        ),
        Scenario("worker+api", "the second worker and API together", _kill_worker_and_api, True),
    )
}


@dataclass
class Row:
    """One line of the table."""

    scenario: str
    tasks: int
    expected: int
    delivered: int
    lost: int
    duplicated: int
    honest_edge: int
    recover_seconds: float | None
    # From the kill until the last promised delivery was in (it includes the policy's
    # waits still to come, and an activity's timeout when its worker died under it).
    all_in_seconds: float | None = None
    unexpected: int = 0
    failed_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.unexpected == 0
            and self.recover_seconds is not None
        )


@dataclass
class Receipt:
    slot: Slot
    delivery_id: str
    at: datetime


class Run:
    """One scenario on one municipality of its own in the cluster."""

    def __init__(self, cluster: Cluster, tasks: int, level_seconds: float) -> None:
        self.cluster = cluster
        self.tasks = tasks
        self.level_seconds = level_seconds
        assert cluster.db is not None
        self.directory = DirectoryFactory(cluster.db, Settings(state_dir=cluster.up.state_dir))
        self.who: Identity = self.directory.identity
        self.task_ids: list[str] = []
        self.transition_ids: list[str] = []
        self._ours: set[str] = set()
        self._remote: list[Receipt] = []
        self._mails_seen = self._hooks_seen = 0

    async def prepare(self) -> None:
        assert self.cluster.db is not None
        await self.directory.create(crash_policy(self.level_seconds))
        await make_reachable(
            self.cluster.db, self.directory, self.cluster.hooks.url, WEBHOOK_SECRET
        )

    # --- starting the transitions -------------------------------------------------------

    async def start_transitions(self, log: Callable[[str], None]) -> None:
        """N discharges through both APIs, a few at a time, each with an Idempotency-Key so
        that a retry after a lost answer cannot start a second one."""
        gate = asyncio.Semaphore(4)
        async with httpx.AsyncClient(timeout=60) as http:

            async def one(i: int) -> dict[str, Any]:
                async with gate:
                    return await self._start_one(http, self.cluster.api_urls[i % 2])

            started = await asyncio.gather(*(one(i) for i in range(self.tasks)))
        for body in started:
            self.transition_ids.append(body["id"])
            self.task_ids += [task["id"] for task in body["tasks"]]
        self._ours = set(self.task_ids)
        log(f"started {len(started)} transitions with {len(self.task_ids)} tasks")

    async def _start_one(self, http: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
        key = str(uuid.uuid4())
        body = self.directory.discharge_body()
        headers = {**self.directory.headers(self.who.coordinator), "Idempotency-Key": key}

        async def started() -> dict[str, Any] | None:
            # The same key each time: a retry after a lost answer starts nothing twice.
            try:
                answer = await http.post(
                    f"{base_url}/api/v1/discharges", json=body, headers=headers
                )
            except httpx.HTTPError:
                return None
            return answer.json() if answer.status_code == 201 else None  # type: ignore[no-any-return]

        return await eventually(started, timeout=120, interval=0.5, what="a discharge started")

    # --- what was promised and what arrived ---------------------------------------------

    def expected(self) -> set[Slot]:
        """Per task and level: in-app and e-mail to each person the level reaches, and a
        webhook to the unit (every level of the crash policy has all three channels)."""
        people = {
            Recipient.OWNER_UNIT: [self.who.contact],
            Recipient.BACKUP_CONTACTS: [self.who.backup],
            Recipient.UNIT_LEADER: [self.who.unit_leader],
            Recipient.MUNICIPAL_LEADER: [self.who.municipal_leader],
            Recipient.ORIGIN_LEADER: [self.who.origin_leader],
        }
        slots: set[Slot] = set()
        for task in self.task_ids:
            for level, notify in enumerate(LEVEL_RECIPIENTS):
                for person in (p for recipient in notify for p in people[recipient]):
                    slots.add((task, level, Channel.IN_APP.value, person))
                    slots.add((task, level, Channel.EMAIL.value, person))
                slots.add((task, level, Channel.WEBHOOK.value, self.directory.intake))
        return slots

    def remote_receipts(self) -> list[Receipt]:
        """E-mails and webhooks of this run's tasks, as the SMTP server and receiver hold them.
        Each is parsed once: polling must not crowd out the receivers' threads (a receiver
        slow to answer widens the window in which a killed sender has not heard the accept)."""
        mails = self.cluster.smtp.sink.received()
        for mail in mails[self._mails_seen :]:
            self._remote += self._mail_receipts(mail)
        self._mails_seen = len(mails)
        hooks = list(self.cluster.hooks.received)  # appended to by its thread: a snapshot
        for hook in hooks[self._hooks_seen :]:
            if hook.accepted and hook.body.get("task_id") in self._ours:
                slot = (
                    hook.body["task_id"],
                    int(hook.body["level"]),
                    "webhook",
                    self.directory.intake,
                )
                self._remote.append(Receipt(slot, hook.delivery_id, hook.at))
        self._hooks_seen = len(hooks)
        return list(self._remote)

    def _mail_receipts(self, mail: ReceivedMail) -> list[Receipt]:
        found = TASK_LINK.search(mail.body)
        level = LEVEL_IN_SUBJECT.search(str(mail.message["Subject"]))
        if found is None or found.group(1) not in self._ours or level is None:
            return []
        return [
            Receipt(
                (found.group(1), int(level.group(1)), "email", address.split("@")[0]),
                str(mail.message["Message-ID"]),
                mail.at,
            )
            for address in mail.recipients
        ]

    async def rows(self) -> list[NotificationRow]:
        assert self.cluster.db is not None
        async with self.cluster.db.transaction() as session:
            found = await session.scalars(
                select(NotificationRow).where(
                    NotificationRow.transition_id.in_(self.transition_ids)
                )
            )
            return list(found)

    async def receipts(self) -> list[Receipt]:
        """Everything that arrived: in-app notices from PostgreSQL (the inbox's source), the
        rest from the receivers. None while PostgreSQL is away."""
        try:
            rows = await self.rows()
        except Exception:  # the database may be the part that is down
            return []
        in_app = [
            Receipt((r.task_id or "", r.level, r.channel, r.person_id or ""), r.key, r.sent_at)
            for r in rows
            if r.channel == Channel.IN_APP.value and r.sent_at is not None
        ]
        return in_app + self.remote_receipts()


def count(expected: set[Slot], receipts: list[Receipt]) -> dict[str, int]:
    """delivered, lost, same-id and other duplicates, and slots nobody promised."""
    by_slot: dict[Slot, list[str]] = defaultdict(list)
    for receipt in receipts:
        by_slot[receipt.slot].append(receipt.delivery_id)
    same_id = sum(n - 1 for ids in by_slot.values() for n in Counter(ids).values())
    other = sum(len(set(ids)) - 1 for ids in by_slot.values())
    return {
        "delivered": len(expected & by_slot.keys()),
        "lost": len(expected - by_slot.keys()),
        "same_id": same_id,
        "other_ids": other,
        "unexpected": len(by_slot.keys() - expected),
    }


def same_id_duplicates(receipts: list[Receipt]) -> list[Slot]:
    seen: Counter[tuple[Slot, str]] = Counter((r.slot, r.delivery_id) for r in receipts)
    return [slot for (slot, _), n in seen.items() for _ in range(n - 1)]


def honest_edge(dup_slots: list[Slot], attempts: dict[Slot, int], kills_a_sender: bool) -> int:
    """How many same-id duplicates the honest edge explains: a sending process was killed
    and our record counts two or more send attempts for that delivery."""
    return sum(1 for slot in dup_slots if kills_a_sender and attempts.get(slot, 0) >= 2)


def attempts_by_slot(rows: list[NotificationRow]) -> dict[Slot, int]:
    return {
        (r.task_id or "", r.level, r.channel, r.person_id or r.unit_id or ""): r.attempts
        for r in rows
    }


async def run_scenario(
    cluster: Cluster,
    scenario: Scenario,
    tasks: int,
    level_seconds: float,
    log: Callable[[str], None] = print,
    timeout: float = 300,  # noqa: ASYNC109
    kill_at: float = 0.5,
) -> Row:
    run = Run(cluster, tasks, level_seconds)
    await run.prepare()
    await run.start_transitions(log)
    expected = run.expected()
    level_0, level_1 = (_remote(expected, level) for level in (0, 1))
    # Mid-escalation: level 0 is in and `kill_at` of level 1's e-mails and webhooks too.
    threshold = level_0 + max(1, round(kill_at * level_1))
    await _until(
        lambda: len(run.remote_receipts()) >= threshold,
        cluster,
        timeout,
        "level 1 to be under way",
    )
    before = len(run.remote_receipts())
    promised = sum(_remote(expected, level) for level in range(len(LEVEL_RECIPIENTS)))
    log(f"kill -9: {scenario.what} ({before}/{promised} e-mails and webhooks in)")
    killed_wall = datetime.now(UTC)
    killed = time.monotonic()
    back_check = _comeback(cluster, scenario)
    scenario.kill(cluster)
    recovered, all_in = await _recover(
        cluster, run, expected, killed, killed_wall, back_check, timeout
    )
    row = await _tally(run, scenario, expected, recovered)
    row.all_in_seconds = all_in
    return row


def _remote(expected: set[Slot], level: int) -> int:
    """How many e-mails and webhooks the policy promises at one level."""
    return sum(1 for slot in expected if slot[1] == level and slot[2] != Channel.IN_APP.value)


def _comeback(cluster: Cluster, scenario: Scenario) -> Callable[[], bool]:
    """Whether the killed part is running again (a new process, not the one killed)."""
    if scenario.name == "postgres":
        old = cluster.postmaster_pid()
        return lambda: _other_live(lambda: cluster.postmaster_pid(), old)
    if scenario.name == "temporal":
        old = cluster.temporal_pid()
        return lambda: _other_live(cluster.temporal_pid, old)
    if scenario.name == "up":
        old_runs = cluster.up.runs
        return lambda: cluster.up.runs > old_runs and "stop with Ctrl-C" in cluster.up.output()
    parts = {"worker": [cluster.worker], "api": [cluster.api]}.get(
        scenario.name, [cluster.worker, cluster.api]
    )
    starts = [part.starts for part in parts]
    return lambda: all(p.starts > s and p.alive() for p, s in zip(parts, starts, strict=True))


def _other_live(pid_of: Callable[[], int], old: int) -> bool:
    try:
        pid = pid_of()
        os.kill(pid, 0)
    except (AssertionError, OSError, ValueError, KeyError):
        return False
    return pid != old


async def _until(probe: Callable[[], bool], cluster: Cluster, timeout: float, what: str) -> None:  # noqa: ASYNC109
    async def reached() -> bool | None:
        cluster.tend()  # the service manager's round while we wait
        return probe() or None

    await eventually(reached, timeout=timeout, interval=0.1, what=what)


async def _recover(
    cluster: Cluster,
    run: Run,
    expected: set[Slot],
    killed: float,
    killed_wall: datetime,
    is_back: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109
) -> tuple[float | None, float | None]:
    """Poll until every promised delivery is in and nothing new arrives for a moment.
    Returns the seconds from the kill until the part was back, /readyz 200 on both APIs and
    deliveries flowing again (None: never), and until the last promised delivery was in."""
    deadline = killed + timeout
    back_and_ready: float | None = None
    all_in: float | None = None
    quiet_since: float | None = None
    last_seen = -1
    while time.monotonic() < deadline:
        restarted = cluster.tend()
        if restarted:
            print(f"  service manager: started {', '.join(restarted)} again", flush=True)
        if back_and_ready is None and is_back() and await cluster.ready():
            back_and_ready = time.monotonic()
        receipts = await run.receipts()
        done = expected <= {r.slot for r in receipts}
        if done and all_in is None:
            all_in = time.monotonic() - killed
        if done and back_and_ready is not None:
            if len(receipts) != last_seen:
                last_seen, quiet_since = len(receipts), time.monotonic()
            elif quiet_since is not None and time.monotonic() - quiet_since >= QUIET_SECONDS:
                break
        await asyncio.sleep(0.25)
    if back_and_ready is None:
        return None, all_in
    resumed = [r.at for r in run.remote_receipts() if r.at > killed_wall]
    flowing = (min(resumed) - killed_wall).total_seconds() if resumed else 0.0
    return max(back_and_ready - killed, flowing), all_in


async def _tally(run: Run, scenario: Scenario, expected: set[Slot], recovered: float | None) -> Row:
    receipts = await run.receipts()
    rows = await run.rows()
    counted = count(expected, receipts)
    attempts = attempts_by_slot(rows)
    dup_slots = same_id_duplicates(receipts)
    honest = honest_edge(dup_slots, attempts, scenario.kills_a_sender)
    row = Row(
        scenario=scenario.name,
        tasks=len(run.task_ids),
        expected=len(expected),
        delivered=counted["delivered"],
        lost=counted["lost"],
        duplicated=counted["same_id"] - honest + counted["other_ids"],
        honest_edge=honest,
        recover_seconds=recovered,
        unexpected=counted["unexpected"],
        failed_rows=sum(1 for r in rows if r.failed_at is not None and r.sent_at is None),
    )
    for slot in dup_slots:
        row.notes.append(f"twice: {slot} (attempts recorded: {attempts.get(slot, 0)})")
    for slot in sorted(expected - {r.slot for r in receipts})[:10]:
        row.notes.append(f"lost: {slot}")
    return row


TABLE_HEADER = (
    f"{'scenario':<11} {'tasks':>5} {'expected':>8} {'delivered':>9} {'lost':>4} "
    f"{'duplicated':>10} {'honest-edge dups':>16} {'recover s':>9} {'all in s':>8}"
)


def table_line(row: Row) -> str:
    recover = "never" if row.recover_seconds is None else f"{row.recover_seconds:.1f}"
    all_in = "never" if row.all_in_seconds is None else f"{row.all_in_seconds:.1f}"
    return (
        f"{row.scenario:<11} {row.tasks:>5} {row.expected:>8} {row.delivered:>9} {row.lost:>4} "
        f"{row.duplicated:>10} {row.honest_edge:>16} {recover:>9} {all_in:>8}"
    )
