"""The leaders' charts: four measures (api.audit.measures, over what the access model lets
the leader see), drawn as server-rendered SVG bars with the same numbers in a table beside
them (for screen readers and for copying)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import measures
from api.auth.access import Scope
from domain.discharge import DischargeTiming
from web.formatting import duration, oslo

WEEKS = 8
FOLLOW_UP_DAYS = DischargeTiming().follow_up_within.days  # the default window, for the text


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    percent: float  # of the longest bar (or of the scale's maximum)


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    unit: str
    bars: list[Bar]


def chart(
    id: str, title: str, description: str, unit: str, points: list[tuple[str, float, str]],
    scale_max: float | None = None,
) -> Chart:  # fmt: skip
    top = scale_max or max((v for _, v, _ in points), default=0) or 1
    bars = [Bar(label, value, text, round(100 * value / top, 1)) for label, value, text in points]
    return Chart(id, title, description, unit, bars)


async def time_to_acknowledge(session: AsyncSession, scope: Scope, since: datetime) -> Chart:
    rows = await measures.acknowledge_seconds_by_unit(session, scope, since)
    points = [(name, s, duration(s)) for name, s in rows]
    return chart(
        "kvittering", "Tid til kvittering per enhet",
        f"Gjennomsnittlig tid fra oppgaven kom til den ble kvittert, siste {WEEKS} uker.",
        "tid", points,
    )  # fmt: skip


async def overdue_by_week(session: AsyncSession, scope: Scope, now: datetime) -> Chart:
    deadlines = await measures.late_step_deadlines(
        session, scope, now - timedelta(weeks=WEEKS), now
    )
    counts: dict[tuple[int, int], int] = {}
    for due in deadlines:
        key = oslo(due).isocalendar()[:2]
        counts[key] = counts.get(key, 0) + 1
    weeks = [oslo(now - timedelta(weeks=i)).isocalendar()[:2] for i in range(WEEKS - 1, -1, -1)]
    points = [
        (f"Uke {w}, {y}", float(counts.get((y, w), 0)), str(counts.get((y, w), 0)))
        for y, w in weeks
    ]
    return chart(
        "forfalte", "Steg over fristen per uke",
        "Steg med frist i uken som ble fullført for sent eller fortsatt er åpne, "
        f"siste {WEEKS} uker.",
        "antall", points,
    )  # fmt: skip


async def waiting_days_by_municipality(session: AsyncSession, scope: Scope, now: datetime) -> Chart:
    since = now - timedelta(weeks=WEEKS)
    rows = await measures.waiting_days_by_municipality(session, scope, since)
    points = [(name, float(days), f"{days} døgn") for name, days in rows]
    return chart(
        "overliggedogn", "Overliggedøgn per kommune",
        "Døgn pasienter ble liggende etter at de var meldt utskrivningsklare, fordi kommunen "
        f"ikke var klar til å ta imot, siste {WEEKS} uker.",
        "døgn", points,
    )  # fmt: skip


async def follow_up_share(session: AsyncSession, scope: Scope, now: datetime) -> Chart:
    """Each transition against its own window (DischargeTiming.follow_up_within): see
    store.measures.follow_up_counts."""
    rows = await measures.follow_up_counts(session, scope, now - timedelta(weeks=WEEKS))
    points = [
        (name, 100 * hit / total, f"{round(100 * hit / total)} % ({hit} av {total})")
        for name, total, hit in rows
    ]
    return chart(
        "oppfolging", "Andel utskrevne med første kontakt innen fristen",
        f"Utskrivninger siste {WEEKS} uker der første kontakt er registrert eller fristen er ute: "
        f"andelen med kontakt innen fristen i samarbeidsavtalen (vanligvis {FOLLOW_UP_DAYS} "
        "dager).",
        "prosent", points, scale_max=100,
    )  # fmt: skip


async def all_charts(session: AsyncSession, scope: Scope, now: datetime) -> list[Chart]:
    return [
        await time_to_acknowledge(session, scope, now - timedelta(weeks=WEEKS)),
        await overdue_by_week(session, scope, now),
        await waiting_days_by_municipality(session, scope, now),
        await follow_up_share(session, scope, now),
    ]
