"""`overgang simulate --probe` on a real time-skipping test server, at a tiny size: it fires
its timers in virtual time and counts the work put between the measurements. (How much slower
the timers became is printed by the probe, never asserted: timing is the benchmark's job.)"""

from __future__ import annotations

import pytest

from overgang.simulation.population import SimulationConfig
from overgang.simulation.run import warn_when_slow
from overgang.simulation.server_probe import PROBE_TIMER, probe_line, probe_test_server


@pytest.mark.timeout(300)
async def test_the_probe_fires_its_timers_in_virtual_time_around_rounds_of_activities() -> None:
    measured = [m async for m in probe_test_server(rounds=2, activities=60, timers=12)]

    assert [m.activities_before for m in measured] == [0, 60, 120]
    assert all(m.timers_fired == 12 for m in measured)
    # Twelve one-minute timers move the server's clock twelve minutes or more, in far less
    # wall time: virtual time, not waiting.
    assert all(m.virtual_minutes >= 12 * PROBE_TIMER.total_seconds() / 60 for m in measured)
    assert all(m.timer_seconds < m.virtual_minutes * 60 for m in measured)
    assert probe_line(measured[0], measured[0]).split()[-1] == "1.0x"


def test_a_run_the_size_of_a_year_says_before_it_starts_that_it_takes_hours(
    capsys: pytest.CaptureFixture[str],
) -> None:
    warn_when_slow(SimulationConfig())
    assert "--probe" in capsys.readouterr().out
    warn_when_slow(SimulationConfig(transitions=1300))
    assert capsys.readouterr().out == ""
