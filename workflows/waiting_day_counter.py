"""The waiting-day counter: overliggedøgn, one durable timer per day from the moment the
patient is declared utskrivningsklar, until the municipality is ready, the patient leaves,
or the transition stops (the rule is domain.waiting_days)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import waiting_days
    from domain.calendar import norwegian_date
    from domain.discharge import DischargeState
    from domain.tasks import TaskKind
    from domain.timeline import EventKind
    from domain.transition import TransitionStatus
    from workflows.task_board import TaskBoard
    from workflows.timers import wait_until


class WaitingDayCounter:
    def __init__(self, state: DischargeState, board: TaskBoard) -> None:
        self.state = state
        self.board = board

    def start(self) -> None:
        self.board.supervisor.watch("waiting-day counter", self._count())

    def counting(self) -> bool:
        state = self.state
        return waiting_days.counts(
            discharged=state.core.discharged_at is not None,
            municipality_ready=state.municipality_ready_at is not None,
            stopped=state.core.status is not TransitionStatus.ACTIVE,
        )

    async def _count(self) -> None:
        core = self.state.core
        assert core.ready_at is not None
        length = self.state.start.timing.waiting_day
        while True:
            day = self.state.waiting_days + 1
            begins = waiting_days.day_begins(core.ready_at, day, length)
            await wait_until(begins, lambda: not self.counting())
            if not self.counting():
                return
            self.state.waiting_days = day
            called = any(t.kind is TaskKind.COOPERATION_MEETING for t in core.tasks.values())
            core.record(
                workflow.now(),
                EventKind.WAITING_DAY,
                day=str(day),
                began_at=begins.isoformat(),
                rate_nok=str(waiting_days.daily_rate(norwegian_date(begins).year)),
                meeting_called=str(called).lower(),
            )
            async with self.board.supervisor.busy():
                await self.board.sync()
