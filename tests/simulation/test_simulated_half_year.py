"""A scaled-down `overgang simulate`: half a year of transitions through virtual time on the
real workflows, activities and PostgreSQL, with every invariant checked as it runs. The full
year is `overgang simulate` (see the README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from overgang.simulation.invariants import INVARIANTS
from overgang.simulation.population import SimulationConfig
from overgang.simulation.run import run_simulation

# Sized so the run stays under three minutes on a busy 2-core machine (see the closing note).
HALF_YEAR = SimulationConfig(
    transitions=100, days=182, seed=7, drain_days=28, checks_per_day=3, history_share=0.5
)


@pytest.mark.timeout(300)
async def test_half_a_year_of_transitions_keeps_every_invariant(tmp_path: Path) -> None:
    result = await run_simulation(HALF_YEAR, tmp_path / "simulation")

    assert result.throughput.started == HALF_YEAR.discharges + HALF_YEAR.lar_changes
    unchecked = [name for name, o in result.outcomes.items() if o.checked == 0]
    assert unchecked == [], f"invariants never exercised: {unchecked}"
    broken = {
        INVARIANTS[name]: [f"{b.transition_id}: {b.event}" for b in o.breaches[:5]]
        for name, o in result.outcomes.items()
        if o.breaches
    }
    assert broken == {}
    assert any(line.startswith("Waiting days") for line in result.figures)
