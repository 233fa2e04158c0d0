"""The waiting-day rule stated once (domain.waiting_days.days_so_far) against the day-by-day
count the workflow runs with day_begins and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.waiting_days import counts, day_begins, days_so_far

READY = datetime(2026, 3, 27, 14, 30, tzinfo=UTC)  # a Friday, two days before summer time
DAY = timedelta(days=1)


def counted_day_by_day(
    ready_at: datetime, now: datetime, day_length: timedelta, ended_at: datetime | None
) -> int:
    """What the workflow's counter has recorded by `now`: one day at a time."""
    day = 0
    while True:
        begins = day_begins(ready_at, day + 1, day_length)
        ended = ended_at is not None and ended_at <= begins
        if begins > now or not counts(discharged=ended, municipality_ready=False, stopped=False):
            return day
        day += 1


def test_day_one_counts_from_the_moment_the_patient_is_ready() -> None:
    assert days_so_far(READY, READY, DAY) == 1
    assert days_so_far(READY, READY - timedelta(seconds=1), DAY) == 0
    assert days_so_far(READY, READY + DAY - timedelta(seconds=1), DAY) == 1
    assert days_so_far(READY, READY + DAY, DAY) == 2


def test_a_day_that_begins_after_the_municipality_is_ready_does_not_count() -> None:
    ready_next_morning = READY + timedelta(hours=20)
    assert days_so_far(READY, READY + 10 * DAY, DAY, ended_at=ready_next_morning) == 1
    assert days_so_far(READY, READY + 10 * DAY, DAY, ended_at=READY + DAY) == 1
    assert days_so_far(READY, READY + 10 * DAY, DAY, ended_at=READY) == 0


@given(
    now=st.timedeltas(min_value=-3 * DAY, max_value=40 * DAY),
    ended=st.none() | st.timedeltas(min_value=-DAY, max_value=40 * DAY),
    seconds=st.integers(min_value=600, max_value=2 * 86400),  # tests shorten days, too
)
def test_the_closed_form_is_the_day_by_day_count(
    now: timedelta, ended: timedelta | None, seconds: int
) -> None:
    length = timedelta(seconds=seconds)
    ended_at = None if ended is None else READY + ended
    expected = counted_day_by_day(READY, READY + now, length, ended_at)
    assert days_so_far(READY, READY + now, length, ended_at) == expected
