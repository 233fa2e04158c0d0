"""Business calendars: office hours per unit, Norwegian public holidays, business-time arithmetic.

Pure and deterministic (no clocks, no randomness, no I/O beyond zoneinfo reading the tz
database once), so it is safe inside Temporal workflows.

Business time is counted per local day: each business day's opening and closing wall-clock
times are converted to UTC for that day, so days where 02:00–03:00 is skipped or repeated
(DST) still yield correct durations. All returned instants are timezone-aware UTC.

A deadline may land exactly on the closing instant: business time on a day is the closed
interval [opens, closes]. `is_open` is half-open (the unit is closed at 15:30 sharp), so
`add(start, 0)` returns `start` itself when it lies in [opens, closes] of a business day and
`next_opening(start)` otherwise. This keeps `add` additive: add(add(s, a), b) == add(s, a + b).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Import the country class itself: `holidays.Norway` is loaded lazily on first use, which
# inside Temporal's workflow sandbox would be a restricted import at run time.
from holidays.countries.norway import Norway
from pydantic import BaseModel, field_validator, model_validator

_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)

# Norway's time zone: the one every Norwegian date (a deadline day, "today") is read in.
OSLO = ZoneInfo("Europe/Oslo")


def norwegian_date(at: datetime) -> date:
    """The calendar date in Norway at the instant `at` (which is "today" when `at` is now)."""
    _require_aware(at)
    return at.astimezone(OSLO).date()


class OfficeHours(BaseModel, frozen=True):
    """When a unit is open. always_open=True for 24/7 units (legevakt, døgnavdeling)."""

    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday=0
    opens: time = time(8, 0)
    closes: time = time(15, 30)
    always_open: bool = False
    timezone: str = OSLO.key
    # Local closures, e.g. julaften if a municipality closes.
    extra_closed_days: frozenset[date] = frozenset()
    observe_public_holidays: bool = True
    # The public holidays of the years a step can span, frozen into a policy snapshot by
    # the activity that loads it (see `with_public_holidays`). Workflows then never call
    # the `holidays` package: it is not sandbox-safe, and a new release of its data must
    # not change what a replayed workflow decided. None: look them up (outside workflows).
    public_holidays: frozenset[date] | None = None
    holiday_years: tuple[int, int] | None = None

    @field_validator("weekdays")
    @classmethod
    def _weekdays_in_range(cls, value: frozenset[int]) -> frozenset[int]:
        if not value <= frozenset(range(7)):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        _zone(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # An empty week would make every search for the next opening run forever.
        if not self.always_open and not self.weekdays:
            raise ValueError("a unit that is not always open needs at least one weekday")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times without tzinfo")
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes (overnight hours are not supported)")
        return self


def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown timezone {key!r}") from error


@cache
def norwegian_public_holidays(year: int) -> frozenset[date]:
    """Norwegian public holidays (helligdager) in `year`, excluding ordinary Sundays."""
    # Norway's holidays class counts every Sunday as a holiday unless told otherwise;
    # named Sundays (Easter Sunday, Whit Sunday) stay in the list.
    return frozenset(Norway(years=year, include_sundays=False))


def with_public_holidays(hours: OfficeHours, first_year: int, last_year: int) -> OfficeHours:
    """The same office hours with the public holidays of those years written in."""
    days = frozenset().union(
        *(norwegian_public_holidays(y) for y in range(first_year, last_year + 1))
    )
    return hours.model_copy(
        update={"public_holidays": days, "holiday_years": (first_year, last_year)}
    )


# A step (a LAR patient's plan, a long stay) can run for years; past these the calendar
# falls back to the `holidays` package, which only the worker's pass-through makes safe.
FROZEN_YEARS_AHEAD = 5


def frozen_from(hours: OfficeHours, today: date) -> OfficeHours:
    """Office hours with the holidays of the years a step started today can span written in:
    what enters a workflow carries its calendar as data."""
    return with_public_holidays(hours, today.year - 1, today.year + FROZEN_YEARS_AHEAD)


def _require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"naive datetime {instant!r}: pass a timezone-aware datetime")


class BusinessCalendar:
    """Business-time arithmetic for one unit's office hours."""

    def __init__(self, hours: OfficeHours | None = None) -> None:
        self.hours = hours or OfficeHours()
        self._tz = _zone(self.hours.timezone)
        # Longest run of closed days we accept before calling the configuration broken:
        # holidays block at most a few weeks of one weekday, each extra day at most one more.
        self._max_gap_days = 7 * (len(self.hours.extra_closed_days) + 60)

    def is_business_day(self, day: date) -> bool:
        """A working day: an office weekday, not a closure, not a public holiday (if observed)."""
        hours = self.hours
        if hours.always_open:
            return True
        if day.weekday() not in hours.weekdays or day in hours.extra_closed_days:
            return False
        return not (hours.observe_public_holidays and day in self._holidays_of(day.year))

    def _holidays_of(self, year: int) -> frozenset[date]:
        hours = self.hours
        if hours.public_holidays is not None and hours.holiday_years is not None:
            first, last = hours.holiday_years
            if first <= year <= last:
                return hours.public_holidays
        return norwegian_public_holidays(year)

    def opening_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants the unit opens and closes on local `day`; None if it is closed."""
        if self.hours.always_open:
            return self._utc(day, time(0)), self._utc(day + _ONE_DAY, time(0))
        if not self.is_business_day(day):
            return None
        opens = self._utc(day, self.hours.opens)
        # Wall times inside a spring-forward gap can map out of order; never a negative day.
        return opens, max(opens, self._utc(day, self.hours.closes))

    def is_open(self, at: datetime) -> bool:
        _require_aware(at)
        at = at.astimezone(UTC)  # compare instants, never wall clocks in a shared tzinfo
        if self.hours.always_open:
            return True
        window = self.opening_hours(self._local_date(at))
        return window is not None and window[0] <= at < window[1]

    def next_opening(self, at: datetime) -> datetime:
        """The first open instant at or after `at` (`at` itself, in UTC, if open)."""
        _require_aware(at)
        at = at.astimezone(UTC)
        if self.hours.always_open:
            return at
        for opens, closes in self._windows_from(self._local_date(at)):
            if at < closes:
                return max(at, opens)
        raise AssertionError("unreachable: _windows_from never ends")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """`start` plus `duration` of business time, in UTC; lands within [opens, closes]."""
        _require_aware(start)
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        start = start.astimezone(UTC)
        if self.hours.always_open:
            return start + duration
        remaining = duration
        for opens, closes in self._windows_from(self._local_date(start)):
            begin = max(start, opens)
            if begin > closes:
                continue  # started after today's closing
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        raise AssertionError("unreachable: _windows_from never ends")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between `start` and `end`; zero if `end` <= `start`."""
        _require_aware(start, end)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return _ZERO
        if self.hours.always_open:
            return end - start
        total = _ZERO
        for opens, closes in self._windows_from(self._local_date(start)):
            if opens >= end:
                return total
            total += max(_ZERO, min(end, closes) - max(start, opens))
        raise AssertionError("unreachable: _windows_from never ends")

    def add_business_days(self, start: date, days: int) -> date:
        """The working day `days` working days after `start` (before it, if negative).

        With days=0 a non-working `start` rolls forward to the next working day, like `add`.
        """
        step = 1 if days >= 0 else -1
        day = self._business_day_from(start, step)
        for _ in range(abs(days)):
            day = self._business_day_from(day + step * _ONE_DAY, step)
        return day

    def _business_day_from(self, day: date, step: int = 1) -> date:
        """The first business day at or after `day` (at or before it when step is -1)."""
        first = day
        for _ in range(self._max_gap_days):
            if self.is_business_day(day):
                return day
            day += step * _ONE_DAY
        raise ValueError(f"no business day within {self._max_gap_days} days of {first}")

    def _windows_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Opening hours (UTC) of each business day from local `day` on, without end."""
        while True:
            day = self._business_day_from(day)
            window = self.opening_hours(day)
            assert window is not None  # day is a business day
            yield window
            day += _ONE_DAY

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self._tz).date()

    def _utc(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self._tz).astimezone(UTC)
