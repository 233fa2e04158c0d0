"""Overliggedøgn (waiting days): days a patient stays after being declared utskrivningsklar
because the municipality is not ready to receive them.

Counting rule (forskrift om kommunal betaling for utskrivningsklare pasienter, simplified):
day n (n = 1, 2, ...) begins at ready_at + (n - 1) x day_length. It counts as a waiting day
when, at its beginning, the patient has not been discharged and the municipality's offer is
not ready. So payment runs from the day the patient is declared ready, and a day on which
the municipality reported ready before it began does not count. Re-admission or
cancellation ends the count.

Each recorded day carries what the payment report needs: its rate, and whether the
specialist service had called the cooperation meeting (a DPS/TSB condition for payment).
"""

from __future__ import annotations

from datetime import datetime, timedelta


def day_begins(ready_at: datetime, day_number: int, day_length: timedelta) -> datetime:
    return ready_at + (day_number - 1) * day_length


def counts(*, discharged: bool, municipality_ready: bool, stopped: bool) -> bool:
    return not (discharged or municipality_ready or stopped)


def days_so_far(
    ready_at: datetime, now: datetime, day_length: timedelta, ended_at: datetime | None = None
) -> int:
    """Overliggedøgn counted by `now`: every day begun by then (day 1 begins at ready_at, so
    it counts from that moment) that began before the count ended at `ended_at` (discharge,
    municipality ready, re-admission or cancellation). The workflow records one waiting_day
    event per such day, so this is also the number of those events the read model holds."""
    if now < ready_at:
        return 0
    begun = (now - ready_at) // day_length + 1
    if ended_at is None:
        return begun
    before_end = -((ready_at - ended_at) // day_length)  # days beginning before ended_at
    return max(0, min(begun, before_end))


# Daily rate (NOK) the municipality pays per overliggedøgn; later years are set by the
# state budget: until configured, the latest known rate applies.
DAILY_RATE_NOK = {2019: 4885, 2020: 5036, 2021: 5167, 2022: 5306, 2023: 5508, 2024: 5745}


def daily_rate(year: int, rates: dict[int, int] = DAILY_RATE_NOK) -> int:
    known = [y for y in rates if y <= year]
    return rates[max(known)] if known else rates[min(rates)]
