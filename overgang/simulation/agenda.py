"""What people will do, and when: a queue of actions in virtual time."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

Run = Callable[[datetime], Awaitable[None]]


@dataclass(order=True)
class Action:
    at: datetime
    seq: int
    label: str = field(compare=False)
    transition_id: str = field(compare=False)
    run: Run = field(compare=False)


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Agenda:
    """Actions run at the next tick of `grid` at or after their time. People answer minutes
    apart; letting virtual time stop for each one would run their commands one by one. On a
    grid, a busy hour's answers go to the workflows together, as the worker can take them."""

    def __init__(self, grid: timedelta = timedelta(0)) -> None:
        self._queue: list[Action] = []
        self._seq = itertools.count()
        self.grid = grid

    def add(self, at: datetime, label: str, transition_id: str, run: Run) -> None:
        action = Action(self.on_grid(at), next(self._seq), label, transition_id, run)
        heapq.heappush(self._queue, action)

    def on_grid(self, at: datetime) -> datetime:
        """`at`, or the first tick after it."""
        if not self.grid:
            return at
        behind = (at - EPOCH) % self.grid
        return at + (self.grid - behind) if behind else at

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
