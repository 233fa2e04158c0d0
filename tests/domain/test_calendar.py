"""Business calendar: table tests for known Norwegian dates and properties of the arithmetic."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import OSLO, BusinessCalendar, OfficeHours, norwegian_public_holidays

DEFAULT = BusinessCalendar()
ALWAYS_OPEN = BusinessCalendar(OfficeHours(always_open=True))
EVERY_DAY = frozenset(range(7))
# Hours straddling the 02:00–03:00 DST switch, to exercise per-day UTC conversion.
NIGHT_SHIFT = BusinessCalendar(OfficeHours(weekdays=EVERY_DAY, opens=time(1), closes=time(4)))
JULAFTEN_CLOSED = BusinessCalendar(OfficeHours(extra_closed_days=frozenset({date(2025, 12, 24)})))


def oslo(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=OSLO)


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


# --- table tests: add -------------------------------------------------------------------------

ADD_CASES = [
    # (calendar, start, business duration, expected deadline, why)
    (DEFAULT, oslo(2025, 1, 10, 15), hours(1), oslo(2025, 1, 13, 8, 30), "Friday -> Monday"),
    (DEFAULT, oslo(2025, 4, 16, 15), hours(4), oslo(2025, 4, 22, 11, 30), "Wed before Easter"),
    # Skjærtorsdag is itself a holiday, so nothing counts until Tuesday 08:00.
    (DEFAULT, oslo(2025, 4, 17, 15), hours(4), oslo(2025, 4, 22, 12), "Maundy Thursday"),
    (DEFAULT, oslo(2024, 5, 16, 15), hours(1), oslo(2024, 5, 21, 8, 30), "17. mai + Whit Monday"),
    (DEFAULT, oslo(2025, 5, 28, 15), hours(1), oslo(2025, 5, 30, 8, 30), "Ascension Day"),
    (DEFAULT, oslo(2025, 6, 6, 15), hours(1), oslo(2025, 6, 10, 8, 30), "Whit Monday"),
    (DEFAULT, oslo(2025, 12, 23, 15), hours(1), oslo(2025, 12, 24, 8, 30), "julaften is open"),
    (JULAFTEN_CLOSED, oslo(2025, 12, 23, 15), hours(1), oslo(2025, 12, 29, 8, 30), "julaften shut"),
    (DEFAULT, oslo(2025, 12, 31, 15), hours(1), oslo(2026, 1, 2, 8, 30), "New Year"),
    (DEFAULT, oslo(2025, 3, 28, 15), hours(1), oslo(2025, 3, 31, 8, 30), "DST spring weekend"),
    (DEFAULT, oslo(2025, 10, 24, 15), hours(1), oslo(2025, 10, 27, 8, 30), "DST autumn weekend"),
    (DEFAULT, oslo(2025, 1, 13, 9), hours(0), oslo(2025, 1, 13, 9), "zero while open"),
    (DEFAULT, oslo(2025, 1, 11, 12), hours(0), oslo(2025, 1, 13, 8), "zero on a Saturday"),
    (DEFAULT, oslo(2025, 1, 13, 15, 30), hours(0), oslo(2025, 1, 13, 15, 30), "zero at closing"),
    (DEFAULT, oslo(2025, 1, 13, 8), hours(7.5), oslo(2025, 1, 13, 15, 30), "lands on closing"),
    (DEFAULT, oslo(2025, 1, 13, 6), hours(1), oslo(2025, 1, 13, 9), "before opening"),
    (ALWAYS_OPEN, oslo(2025, 4, 17, 15), hours(4), oslo(2025, 4, 17, 19), "24/7 on a holiday"),
    (ALWAYS_OPEN, oslo(2025, 3, 29, 12), hours(24), oslo(2025, 3, 30, 13), "24/7 spring forward"),
    (ALWAYS_OPEN, oslo(2025, 10, 25, 12), hours(24), oslo(2025, 10, 26, 11), "24/7 fall back"),
]


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [case[:4] for case in ADD_CASES],
    ids=[case[4] for case in ADD_CASES],
)
def test_add_known_dates(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, expected: datetime
) -> None:
    deadline = calendar.add(start, duration)
    assert deadline == expected
    assert deadline.tzinfo is UTC


def test_add_thirty_business_days_of_time() -> None:
    # 30 full office days from Monday 6 Jan 2025: six working weeks, no holidays in between.
    assert DEFAULT.add(oslo(2025, 1, 6, 8), hours(7.5) * 30) == oslo(2025, 2, 14, 15, 30)


def test_add_without_public_holidays_counts_maundy_thursday() -> None:
    calendar = BusinessCalendar(OfficeHours(observe_public_holidays=False))
    assert calendar.add(oslo(2025, 4, 17, 15), hours(1)) == oslo(2025, 4, 18, 8, 30)


def test_add_on_weekend_unit_skips_easter_sunday_but_not_other_sundays() -> None:
    calendar = BusinessCalendar(OfficeHours(weekdays=EVERY_DAY))
    assert calendar.add(oslo(2025, 4, 19, 15), hours(1)) == oslo(2025, 4, 22, 8, 30)
    assert calendar.add(oslo(2025, 4, 26, 15), hours(1)) == oslo(2025, 4, 27, 8, 30)


# --- table tests: elapsed, is_open, next_opening, business days --------------------------------

ELAPSED_CASES = [
    (DEFAULT, oslo(2025, 1, 10, 14), oslo(2025, 1, 13, 9), hours(2.5), "over a weekend"),
    (DEFAULT, oslo(2025, 3, 28, 15), oslo(2025, 3, 31, 8, 30), hours(1), "DST spring weekend"),
    (DEFAULT, oslo(2025, 10, 24, 15), oslo(2025, 10, 27, 8, 30), hours(1), "DST autumn weekend"),
    (DEFAULT, oslo(2025, 4, 16, 8), oslo(2025, 4, 23, 8), hours(7.5 * 2), "Easter week"),
    (DEFAULT, oslo(2025, 1, 13, 9), oslo(2025, 1, 13, 9), hours(0), "empty interval"),
    (DEFAULT, oslo(2025, 1, 13, 12), oslo(2025, 1, 13, 9), hours(0), "end before start"),
    (NIGHT_SHIFT, oslo(2025, 3, 30), oslo(2025, 3, 31), hours(2), "01-04 on spring-forward"),
    (NIGHT_SHIFT, oslo(2025, 10, 26), oslo(2025, 10, 27), hours(4), "01-04 on fall-back"),
    (ALWAYS_OPEN, oslo(2025, 3, 29, 12), oslo(2025, 3, 30, 12), hours(23), "24/7 spring"),
    (ALWAYS_OPEN, oslo(2025, 10, 25, 12), oslo(2025, 10, 26, 12), hours(25), "24/7 autumn"),
]


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [case[:4] for case in ELAPSED_CASES],
    ids=[case[4] for case in ELAPSED_CASES],
)
def test_elapsed_known_dates(
    calendar: BusinessCalendar, start: datetime, end: datetime, expected: timedelta
) -> None:
    assert calendar.elapsed(start, end) == expected


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (oslo(2025, 1, 13, 7, 59), False),
        (oslo(2025, 1, 13, 8), True),
        (oslo(2025, 1, 13, 15, 29), True),
        (oslo(2025, 1, 13, 15, 30), False),  # closing instant: closed
        (oslo(2025, 1, 11, 12), False),  # Saturday
        (oslo(2025, 5, 29, 12), False),  # Ascension Day
        (datetime(2025, 1, 13, 7, 30, tzinfo=UTC), True),  # 08:30 in Oslo
    ],
)
def test_is_open(at: datetime, is_open: bool) -> None:
    assert DEFAULT.is_open(at) is is_open


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (oslo(2025, 1, 13, 9), oslo(2025, 1, 13, 9)),
        (oslo(2025, 1, 13, 6), oslo(2025, 1, 13, 8)),
        (oslo(2025, 1, 13, 15, 30), oslo(2025, 1, 14, 8)),
        (oslo(2025, 4, 16, 16), oslo(2025, 4, 22, 8)),
    ],
)
def test_next_opening(at: datetime, expected: datetime) -> None:
    opening = DEFAULT.next_opening(at)
    assert opening == expected
    assert opening.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 4, 16), 1, date(2025, 4, 22)),
        (date(2025, 4, 22), -1, date(2025, 4, 16)),
        (date(2025, 1, 11), 0, date(2025, 1, 13)),
        (date(2025, 1, 13), 0, date(2025, 1, 13)),
        (date(2025, 1, 10), 5, date(2025, 1, 17)),
        (date(2025, 5, 16), 1, date(2025, 5, 19)),  # 17. mai 2025 is a Saturday anyway
        (date(2024, 5, 16), 1, date(2024, 5, 21)),  # 17. mai (Fri) and Whit Monday 2024
    ],
)
def test_add_business_days(start: date, days: int, expected: date) -> None:
    assert DEFAULT.add_business_days(start, days) == expected


def test_long_closures_end_without_hanging() -> None:
    # A Monday-only unit closed every Monday for ten years (last one 18.12.2034); the next two
    # Mondays are Christmas Day and New Year's Day, so it reopens on 8.1.2035.
    mondays = frozenset(date(2025, 1, 6) + timedelta(weeks=n) for n in range(520))
    calendar = BusinessCalendar(OfficeHours(weekdays=frozenset({0}), extra_closed_days=mondays))
    assert calendar.add_business_days(date(2025, 1, 6), 0) == date(2035, 1, 8)
    assert calendar.next_opening(oslo(2025, 1, 6, 9)) == oslo(2035, 1, 8, 8)


def test_public_holidays_include_moving_feasts_but_not_ordinary_sundays() -> None:
    days = norwegian_public_holidays(2025)
    moving = {date(2025, 4, 17), date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 29)}
    assert moving | {date(2025, 6, 9), date(2025, 5, 17)} <= days
    assert date(2025, 1, 5) not in days  # an ordinary Sunday


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: DEFAULT.is_open(datetime(2025, 1, 13, 9)),
        lambda: DEFAULT.next_opening(datetime(2025, 1, 13, 9)),
        lambda: DEFAULT.add(datetime(2025, 1, 13, 9), hours(1)),
        lambda: DEFAULT.elapsed(oslo(2025, 1, 13), datetime(2025, 1, 14)),
        lambda: DEFAULT.add(oslo(2025, 1, 13, 9), hours(-1)),
        lambda: OfficeHours(weekdays=frozenset()),
        lambda: OfficeHours(weekdays=frozenset({7})),
        lambda: OfficeHours(opens=time(16), closes=time(8)),
        lambda: OfficeHours(timezone="Europe/Atlantis"),
    ],
    ids=[
        "naive is_open",
        "naive next_opening",
        "naive add",
        "naive elapsed",
        "negative duration",
        "no weekdays",
        "weekday 7",
        "opens after closes",
        "unknown timezone",
    ],
)
def test_rejects_invalid_input(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_always_open_unit_needs_no_weekdays() -> None:
    assert BusinessCalendar(OfficeHours(always_open=True, weekdays=frozenset())).is_open(
        oslo(2025, 12, 25, 3)
    )


# --- properties ---------------------------------------------------------------------------------

PROPERTY = settings(deadline=None, max_examples=200)
CALENDARS = st.sampled_from([DEFAULT, NIGHT_SHIFT, JULAFTEN_CLOSED, ALWAYS_OPEN])
OFFICE_CALENDARS = st.sampled_from([DEFAULT, NIGHT_SHIFT, JULAFTEN_CLOSED])
ZONES = st.sampled_from([UTC, OSLO, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")])
# Instants are drawn in UTC then shown in some zone, so none is imaginary or ambiguous.
instants = st.builds(
    lambda at, zone: at.astimezone(zone),
    st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
    ZONES,
)
durations = st.timedeltas(timedelta(0), timedelta(days=40))


def within_opening_hours(calendar: BusinessCalendar, at: datetime) -> bool:
    window = calendar.opening_hours(at.astimezone(ZoneInfo(calendar.hours.timezone)).date())
    return window is not None and window[0] <= at <= window[1]


@PROPERTY
@given(CALENDARS, instants, durations, durations)
def test_add_is_monotonic(
    calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    shorter, longer = sorted((a, b))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)


@PROPERTY
@given(CALENDARS, instants, durations, durations)
def test_add_is_additive(
    calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    assert calendar.add(calendar.add(start, a), b) == calendar.add(start, a + b)


@PROPERTY
@given(OFFICE_CALENDARS, instants, durations)
def test_add_never_lands_outside_office_hours(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    deadline = calendar.add(start, duration)
    assert deadline.tzinfo is UTC
    assert within_opening_hours(calendar, deadline)


@PROPERTY
@given(CALENDARS, instants, durations)
def test_elapsed_inverts_add(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    assert calendar.elapsed(start, calendar.add(start, duration)) == duration


@PROPERTY
@given(CALENDARS, instants, durations)
def test_elapsed_inverts_add_from_an_open_instant(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    opened = calendar.next_opening(start)
    assert calendar.is_open(opened)
    assert calendar.elapsed(start, opened) == timedelta(0)
    assert calendar.elapsed(opened, calendar.add(opened, duration)) == duration


@PROPERTY
@given(CALENDARS, instants, instants, instants)
def test_elapsed_is_non_negative_bounded_and_additive(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    # Sort and subtract in UTC: same-zone datetimes compare as wall clocks around fall-back.
    first, middle, last = sorted(at.astimezone(UTC) for at in (a, b, c))
    assert timedelta(0) <= calendar.elapsed(first, last) <= last - first
    assert calendar.elapsed(last, first) == timedelta(0)
    split = calendar.elapsed(first, middle) + calendar.elapsed(middle, last)
    assert split == calendar.elapsed(first, last)


@PROPERTY
@given(CALENDARS, instants, durations, ZONES)
def test_add_depends_on_the_instant_not_its_zone(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, zone: ZoneInfo
) -> None:
    assert calendar.add(start, duration) == calendar.add(start.astimezone(zone), duration)


@PROPERTY
@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_each_business_day_holds_the_same_wall_clock_hours_across_dst(day: date) -> None:
    midnight = datetime.combine(day, time(0), tzinfo=OSLO)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=OSLO)
    expected = hours(7.5) if DEFAULT.is_business_day(day) else timedelta(0)
    assert DEFAULT.elapsed(midnight, next_midnight) == expected
    # Subtract in UTC: datetimes sharing a tzinfo subtract as wall clocks (always 24h).
    real_day = next_midnight.astimezone(UTC) - midnight.astimezone(UTC)
    assert real_day in {hours(23), hours(24), hours(25)}
    assert ALWAYS_OPEN.elapsed(midnight, next_midnight) == real_day


@PROPERTY
@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(-300, 300))
def test_add_business_days_lands_on_business_days_and_inverts(day: date, days: int) -> None:
    result = DEFAULT.add_business_days(day, days)
    assert DEFAULT.is_business_day(result)
    assert (result >= day) if days >= 0 else (result < day)
    if DEFAULT.is_business_day(day):
        assert DEFAULT.add_business_days(result, -days) == day
