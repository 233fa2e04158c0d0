"""Matching what happened with what the rules say: a timer's event may come late while the
worker catches up with timers due together, never early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from overgang.simulation.expectations import LATE, TOLERANCE, Expected, match

DUE = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)
offsets = st.integers(min_value=-3_600_000, max_value=3_600_000).map(
    lambda ms: timedelta(milliseconds=ms)
)


@given(offsets)
def test_an_event_matches_from_a_second_early_to_late_seconds_late(offset: timedelta) -> None:
    problems = match([Expected("overdue", DUE)], [("overdue", DUE + offset)])
    assert (problems == []) == (-TOLERANCE <= offset <= LATE)


@given(offsets)
def test_an_event_that_does_not_match_is_named_missing_and_unexpected(offset: timedelta) -> None:
    problems = match([Expected("remind:1", DUE)], [("remind:1", DUE + offset)])
    if problems:
        assert problems[0] == f"missing remind:1 due at {DUE.isoformat()}"
        assert problems[1].startswith(f"unexpected remind:1 at {(DUE + offset).isoformat()}")


def test_the_late_events_seen_in_a_full_year_match() -> None:
    """2027-01-03 23:00 UTC: a deadline at midnight among many, flagged 1.637 s late."""
    late = DUE + timedelta(seconds=1.637)
    assert match([Expected("overdue", DUE)], [("overdue", late)]) == []
    assert match([Expected("overdue", DUE)], [("overdue", DUE - timedelta(seconds=1.5))]) != []
