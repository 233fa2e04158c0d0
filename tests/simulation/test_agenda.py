"""The simulation's agenda: actions wait for the next tick of its grid, never run early, and
keep their order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from overgang.simulation.agenda import EPOCH, Agenda
from overgang.simulation.population import SimulationConfig

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
grids = st.integers(min_value=1, max_value=3600).map(lambda seconds: timedelta(seconds=seconds))


async def _nothing(_: datetime) -> None:
    return None


@given(instants, grids)
def test_an_action_runs_at_the_first_tick_at_or_after_its_time(
    at: datetime, grid: timedelta
) -> None:
    ticked = Agenda(grid).on_grid(at)
    assert at <= ticked < at + grid
    assert (ticked - EPOCH) % grid == timedelta(0)


@given(instants, instants, grids)
def test_the_grid_keeps_actions_in_order(a: datetime, b: datetime, grid: timedelta) -> None:
    agenda = Agenda(grid)
    assert (agenda.on_grid(a) <= agenda.on_grid(b)) or a > b


@given(st.lists(instants, min_size=1, max_size=30), grids)
def test_actions_between_two_ticks_come_due_together(
    times: list[datetime], grid: timedelta
) -> None:
    agenda = Agenda(grid)
    for n, at in enumerate(times):
        agenda.add(at, f"action {n}", "t", _nothing)
    tick = agenda.on_grid(min(times))
    due = agenda.due(tick)
    # At a tick, everything planned for that tick or before it runs; nothing later does.
    assert {a.label for a in due} == {f"action {n}" for n, at in enumerate(times) if at <= tick}
    assert all(a.at == tick for a in due)


@given(instants)
def test_without_a_grid_an_action_keeps_its_instant(at: datetime) -> None:
    assert Agenda().on_grid(at) == at


@given(st.integers(min_value=1, max_value=60 * 24 * 90), instants)
def test_whole_minutes_after_a_tick_land_on_the_default_grid_only_at_multiples_of_it(
    minutes: int, at: datetime
) -> None:
    """Deadlines and escalations are whole minutes after the command that opened the step;
    the default grid keeps them off the ticks where the next commands run."""
    grid_seconds = SimulationConfig().action_grid_seconds
    agenda = Agenda(timedelta(seconds=grid_seconds))
    tick = agenda.on_grid(at)
    later = tick + timedelta(minutes=minutes)
    # A grid of whole minutes (600 s) would put every 10th minute on a tick.
    assert (agenda.on_grid(later) == later) == (minutes % grid_seconds == 0)
