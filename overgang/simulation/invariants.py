"""The invariants a simulation checks while it runs, against Temporal (each workflow's `view`
query, its history) and PostgreSQL (the read model), with every breach named by transition id
and the event that broke it."""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from temporalio.api.enums.v1 import EventType

from domain.discharge import start_of_day
from domain.escalation import EscalationPolicy
from domain.tasks import Task
from overgang.simulation.expectations import (
    LATE,
    Expected,
    daily_rate_at,
    escalation_chain,
    first_overdue,
    match,
    waiting_day_starts,
)
from overgang.simulation.records import (
    Directory,
    Record,
    by_task,
    read_directory,
    read_records,
    read_views,
    wait_for_activities,
)
from store.tables import NotificationRow, TaskRow

if TYPE_CHECKING:
    from overgang.simulation.environment import Stack
    from overgang.simulation.population import SimulationConfig

INVARIANTS = {
    "read_model": "the read model equals the workflow's own state (transition, tasks, timeline)",
    "overdue": "every open task past its deadline is flagged overdue exactly once, never before",
    "escalation": "every escalation level fires once, at the moment its policy gives "
    f"(-1 s to +{LATE.seconds} s)",
    "notifications": "no notification is lost or sent twice; the absent's go to the substitute",
    "waiting_days": "waiting days follow domain/waiting_days.py (count, start, daily rate)",
    "workflow_tasks": "no workflow task fails and no background error goes unseen",
    "ends": "every transition ends, or is open for a reason the simulation can name",
    "lar_objection": "after a LAR objection nothing takes effect until an override or withdrawal",
}
SHOWN_AS_FOUND = 20  # breaches per invariant printed the moment they are found
FAILED_TASK_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


@dataclass(frozen=True)
class Breach:
    invariant: str
    transition_id: str
    event: str


@dataclass
class Outcome:
    checked: int = 0
    breaches: list[Breach] = field(default_factory=list)


class WorkflowErrorLog(logging.Handler):
    """Catches what the worker logs when a workflow task fails or a workflow's background
    task dies: the SDK retries such tasks, so without this they pass unseen."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failures: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        details = getattr(record, "temporal_workflow", None) or {}
        first_line = record.getMessage().splitlines()[0][:160]
        self.failures.append((str(details.get("workflow_id", "?")), first_line))


class Invariants:
    def __init__(self, stack: Stack, config: SimulationConfig) -> None:
        self.stack = stack
        self.config = config
        self.outcomes = {name: Outcome() for name in INVARIANTS}
        self.checked_transitions = 0
        self.absent: list[tuple[str, datetime, datetime]] = []
        self._directory: Directory | None = None
        self._rng = random.Random(config.seed)
        self.errors = WorkflowErrorLog()
        for name in ("temporalio.worker._workflow_instance", "temporalio.worker._workflow"):
            logging.getLogger(name).addHandler(self.errors)
        self._errors_seen = 0
        self._seen: set[Breach] = set()

    def broken_count(self) -> int:
        return sum(len(o.breaches) for o in self.outcomes.values())

    def breach(self, invariant: str, transition_id: str, event: str) -> None:
        found = Breach(invariant, transition_id, event)
        if found not in self._seen:  # a transition checked while open and again when closed
            self._seen.add(found)
            self.outcomes[invariant].breaches.append(found)
            if len(self.outcomes[invariant].breaches) <= SHOWN_AS_FOUND:
                print(f"  BROKEN {invariant}: transition {transition_id}: {event}", flush=True)

    def count(self, invariant: str, n: int = 1) -> None:
        self.outcomes[invariant].checked += n

    # --- one batch --------------------------------------------------------------------------

    async def check(self, ids: list[str], now: datetime, *, closed: bool) -> None:
        if self._directory is None:
            self._directory = await read_directory(self.stack.db)
        records = await read_records(self.stack.db, ids)
        await read_views(self.stack.client, records)
        await self._settle(records)
        for record in records.values():
            self._check_record(record, now, closed=closed)
            if closed and self._rng.random() < self.config.history_share:
                await self._check_history(record)
        self.checked_transitions += len(records)
        self._collect_logged_errors()

    def _check_record(self, record: Record, now: datetime, *, closed: bool) -> None:
        tid = record.row.id
        if record.view is None:
            self.breach("read_model", tid, f"workflow query failed: {record.query_error}")
            return
        self._read_model(record)
        tasks = {t.id: t for t in record.view.tasks}
        for task in tasks.values():
            self._overdue(record, task, now)
            self._escalation(record, task, now)
        self._notifications(record, tasks)
        if record.row.kind == "discharge":
            self._waiting_days(record, now)
        if record.row.kind == "lar_change":
            self._lar_objection(record)

    # --- the read model equals the workflow's state ----------------------------------------

    async def _settle(self, records: dict[str, Record]) -> None:
        """Read again, once their activities are done, the transitions whose read model differs
        from the workflow: a check must not race a projection that is still on its way."""
        unsettled = [tid for tid, r in records.items() if r.view and _read_model_differences(r)]
        if not unsettled:
            return
        workflow_ids = [records[tid].row.workflow_id for tid in unsettled]
        await wait_for_activities(self.stack.client, workflow_ids)
        again = await read_records(self.stack.db, unsettled)
        await read_views(self.stack.client, again)
        records.update(again)

    def _read_model(self, record: Record) -> None:
        self.count("read_model")
        for difference in _read_model_differences(record):
            self.breach("read_model", record.row.id, difference)

    # --- overdue --------------------------------------------------------------------------------

    def _overdue(self, record: Record, task: Task, now: datetime) -> None:
        self.count("overdue")
        deadlines = _deadlines(record, task)
        expected = first_overdue(deadlines, _closed_at(task), now)
        flags = [("overdue", e.at) for e in record.of_kind("task_overdue", task.id)]
        moved = f", deadline moved {len(deadlines) - 1}×" if len(deadlines) > 1 else ""
        for problem in match([expected] if expected else [], flags):
            self.breach(
                "overdue", record.row.id, f"task {task.id} ({task.kind.value}{moved}): {problem}"
            )

    # --- escalation -----------------------------------------------------------------------------

    def _escalation(self, record: Record, task: Task, now: datetime) -> None:
        assert self._directory is not None
        policy = self._directory.policy_for(record.row.municipality_number)
        if policy is None:
            return
        self.count("escalation")
        if _levels(task.policy) != _levels(policy):
            self.breach(
                "escalation",
                record.row.id,
                f"task {task.id} runs under a policy that is not the directory's",
            )
        stop = min(t for t in (task.acknowledged_at, _closed_at(task), now) if t is not None)
        expected = escalation_chain(policy, task.created_at, stop, _raises(record, task))
        actual = [
            (f"{'escalate' if e.kind == 'escalated' else 'remind'}:{e.detail.get('level')}", e.at)
            for e in record.events
            if e.task_id == task.id
            and e.kind in ("escalated", "reminded")
            and "reason" not in e.detail
        ]
        for problem in match(expected, actual):
            self.breach(
                "escalation", record.row.id, f"task {task.id} ({task.kind.value}): {problem}"
            )

    # --- notifications ---------------------------------------------------------------------------

    def _notifications(self, record: Record, tasks: dict[str, Task]) -> None:
        notes = by_task(record.notifications)
        for task_id, task in tasks.items():
            self.count("notifications")
            occasions = _occasions(record, task)
            sent = Counter(_occasion_of(n.key) for n in notes.get(task_id, []))
            for occasion, count in occasions.items():
                notices = len({k for k in sent if k[:2] == occasion})
                if notices != count:
                    what = "lost" if notices < count else "sent twice"
                    self.breach(
                        "notifications",
                        record.row.id,
                        f"task {task_id}: {count} "
                        f"occasions of {':'.join(occasion)}, {notices} notices ({what})",
                    )
            self._mail(record, notes.get(task_id, []))
            self._stand_ins(record, task_id)

    def _mail(self, record: Record, notes: list[NotificationRow]) -> None:
        assert self._directory is not None
        for note in notes:
            if note.channel != "email" or note.person_id is None:
                continue
            email = self._directory.emails.get(note.person_id, "")
            received = self.stack.mail.counter.received[_message_id(note.key, email)]
            if note.sent_at is None or received != 1:
                self.breach(
                    "notifications",
                    record.row.id,
                    f"e-mail {note.key}: sent_at {note.sent_at}, received {received} times",
                )

    def _stand_ins(self, record: Record, task_id: str) -> None:
        for event in record.of_kind("notified", task_id):
            person = str(event.detail.get("person_id", ""))
            if any(p == person and s <= event.at < e for p, s, e in self.absent):
                self.breach(
                    "notifications",
                    record.row.id,
                    f"notice at {event.at.isoformat()} went to {person}, who was away",
                )

    # --- waiting days -------------------------------------------------------------------------

    def _waiting_days(self, record: Record, now: datetime) -> None:
        ready = record.of_kind("ready_for_discharge")
        if not ready:
            return
        self.count("waiting_days")
        stopped = _first(record, ("discharged", "municipality_ready", "transition_cancelled"))
        expected = waiting_day_starts(ready[0].at, stopped, now, timedelta(days=1))
        actual = [
            (f"day {e.detail.get('day')}", datetime.fromisoformat(str(e.detail["began_at"])))
            for e in record.of_kind("waiting_day")
        ]
        for problem in match(expected, actual):
            self.breach("waiting_days", record.row.id, problem)
        for event in record.of_kind("waiting_day"):
            began = datetime.fromisoformat(str(event.detail["began_at"]))
            if str(event.detail.get("rate_nok")) != str(daily_rate_at(began)):
                self.breach(
                    "waiting_days",
                    record.row.id,
                    f"day {event.detail.get('day')} at "
                    f"rate {event.detail.get('rate_nok')}, the year's is {daily_rate_at(began)}",
                )

    # --- the LAR rule -----------------------------------------------------------------------------

    def _lar_objection(self, record: Record) -> None:
        answers = record.of_kind("lar_answered")
        if not answers or answers[0].detail.get("answer") != "objected":
            return
        self.count("lar_objection")
        overridden = record.of_kind("override")
        for effect in record.of_kind("lar_change_effective"):
            if not overridden or overridden[0].at > effect.at:
                self.breach(
                    "lar_objection",
                    record.row.id,
                    f"lar_change_effective at {effect.at.isoformat()} (seq {effect.seq}) "
                    "after the municipality objected, without an override",
                )

    # --- failed workflow tasks --------------------------------------------------------------------

    async def _check_history(self, record: Record) -> None:
        self.count("workflow_tasks")
        handle = self.stack.client.get_workflow_handle(record.row.workflow_id)
        async for event in handle.fetch_history_events():
            if event.event_type in FAILED_TASK_EVENTS:
                self.breach(
                    "workflow_tasks",
                    record.row.id,
                    f"{EventType.Name(event.event_type)} (event {event.event_id})",
                )

    def _collect_logged_errors(self) -> None:
        for workflow_id, message in self.errors.failures[self._errors_seen :]:
            self.breach("workflow_tasks", workflow_id, message)
        self._errors_seen = len(self.errors.failures)


# --- helpers -----------------------------------------------------------------------------------


def _read_model_differences(record: Record) -> list[str]:
    """How PostgreSQL differs from the workflow's own view of one transition."""
    assert record.view is not None
    view, found = record.view, []
    if record.row.status != view.status.value:
        found.append(
            f"transition {record.row.status} in PostgreSQL, {view.status.value} in the workflow"
        )
    if set(record.tasks) != {t.id for t in view.tasks}:
        found.append("the task rows differ from the workflow's tasks")
    for task in view.tasks:
        row = record.tasks.get(task.id)
        if row is not None and (diff := _task_difference(task, row)):
            found.append(f"task {task.id} ({task.kind.value}): {diff}")
    seqs = [e.seq for e in record.events]
    if seqs != list(range(1, len(seqs) + 1)):
        found.append("the timeline has gaps (a projection was lost)")
    days = len(record.of_kind("waiting_day"))
    if record.waiting_days is not None and record.waiting_days != days:
        found.append(f"waiting_day_count {record.waiting_days}, {days} waiting_day events")
    return found


def _task_difference(task: Task, row: TaskRow) -> str:
    pairs = {
        "status": (task.status.value, row.status),
        "due_at": (task.due_at, row.due_at),
        "acknowledged_at": (task.acknowledged_at, row.acknowledged_at),
        "completed_at": (task.completed_at, row.completed_at),
        "escalation_level": (task.escalation.level, row.escalation_level),
        "next_escalation_at": (task.escalation.next_at, row.next_escalation_at),
        "bounce_count": (len(task.bounces), row.bounce_count),
        "revision": (task.revision, row.revision),
    }
    return ", ".join(
        f"{k} {a} in the workflow, {b} in PostgreSQL" for k, (a, b) in pairs.items() if a != b
    )


def _closed_at(task: Task) -> datetime | None:
    return None if task.is_open else task.completed_at


def _deadlines(record: Record, task: Task) -> list[tuple[datetime, datetime]]:
    """The deadlines in force over the step's life: (from when, due at)."""
    created = record.of_kind("task_created", task.id)
    first = datetime.fromisoformat(str(created[0].detail["due_at"])) if created else task.due_at
    deadlines = [(task.created_at, first)]
    for event in record.of_kind("discharge_date_changed"):
        if event.task_id == task.id and "due_at" in event.detail:
            deadlines.append((event.at, datetime.fromisoformat(str(event.detail["due_at"]))))
        elif (
            event.task_id is None
            and task.kind.value == "cooperation_meeting"
            and event.at > task.created_at
        ):
            # The meeting is due by the start of the (new) discharge day.
            deadlines.append((event.at, start_of_day(date.fromisoformat(str(event.detail["new"])))))
    return deadlines


def _raises(record: Record, task: Task) -> list[tuple[datetime, int]]:
    """Raises outside the chain: a missed follow-up or LAR answer, a double bounce."""
    return [
        (e.at, int(e.detail.get("level", 0)))
        for e in record.events
        if e.task_id == task.id
        and ((e.kind == "escalated" and "reason" in e.detail) or e.kind == "bounce_escalated")
    ]


def _levels(policy: EscalationPolicy) -> list[object]:
    return [level.model_dump() for level in policy.levels]


def _first(record: Record, kinds: tuple[str, ...]) -> datetime | None:
    times = [e.at for e in record.events if e.kind in kinds]
    return min(times) if times else None


def _occasion_of(key: str) -> tuple[str, ...]:
    """(reason, level, occasion) of a delivery key task:reason:level:occasion:channel:target."""
    return tuple(key.split(":")[1:4])


def _occasions(record: Record, task: Task) -> Counter[tuple[str, str]]:
    """(reason, level) -> how many notices the timeline says were due for this step."""
    due: Counter[tuple[str, str]] = Counter()
    for event in record.events:
        if event.task_id == task.id and event.kind == "task_created":
            due[("new_task", "0")] += 1
        elif event.task_id == task.id and event.kind == "escalated":
            due[("escalation", str(event.detail.get("level")))] += 1
        elif event.task_id == task.id and event.kind == "reminded":
            due[("reminder", str(event.detail.get("level")))] += 1
    return due


def _message_id(key: str, email: str) -> str:
    """The Message-ID activities.email_channel gives this delivery's e-mail."""
    occasion = ":".join(key.split(":")[:4])
    return f"<{occasion.replace(':', '.')}.{email.split('@')[0]}@overgang>"


__all__ = ["INVARIANTS", "Breach", "Expected", "Invariants", "Outcome"]
