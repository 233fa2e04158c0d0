"""What people will do, and when: a queue of actions in virtual time."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

Run = Callable[[datetime], Awaitable[None]]


@dataclass(order=True)
class Action:
    at: datetime
    seq: int
    label: str = field(compare=False)
    transition_id: str = field(compare=False)
    run: Run = field(compare=False)


class Agenda:
    def __init__(self) -> None:
        self._queue: list[Action] = []
        self._seq = itertools.count()

    def add(self, at: datetime, label: str, transition_id: str, run: Run) -> None:
        heapq.heappush(self._queue, Action(at, next(self._seq), label, transition_id, run))

    def next_at(self) -> datetime | None:
        return self._queue[0].at if self._queue else None

    def due(self, now: datetime) -> list[Action]:
        """Take every action due at or before `now`, in order."""
        taken = []
        while self._queue and self._queue[0].at <= now:
            taken.append(heapq.heappop(self._queue))
        return taken

    def pending_for(self, transition_id: str) -> list[Action]:
        return sorted(a for a in self._queue if a.transition_id == transition_id)

    def __len__(self) -> int:
        return len(self._queue)
