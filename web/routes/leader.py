"""The leader's pages: stalled transitions with filters and CSV export, and the charts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.auth import policy
from api.auth.access import Scope
from api.deps import SessionDep
from web import charts, leader
from web.formatting import TRANSITION_KIND, norwegian_datetime
from web.identity import WebScope, mark_web
from web.rendering import render

router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)

CSV_HEADER = [
    "Overgang", "Type", "Kommune", "Fra enhet", "Hvorfor", "Enheter med åpne steg",
    "Eskaleringsnivå", "Første frist", "Dager siden utskrivningsklar",
]  # fmt: skip


def _leader_only(scope: Scope) -> None:
    policy.may_read_oversight(scope.actor)


def _filters(kommune: str, enhet: str, type: str, arsak: str) -> leader.StalledFilters:
    return leader.StalledFilters(municipality=kommune, unit=enhet, kind=type, reason=arsak)


@router.get("/leder")
async def stalled_page(
    request: Request, scope: WebScope, session: SessionDep,
    kommune: str = "", enhet: str = "", type: str = "", arsak: str = "",
) -> Response:  # fmt: skip
    _leader_only(scope)
    filters = _filters(kommune, enhet, type, arsak)
    rows = await leader.stalled(session, scope, filters)
    context = {
        "rows": rows,
        "filters": filters,
        "choices": await leader.filter_choices(session, scope),
        "kinds": TRANSITION_KIND,
        "reasons": leader.REASONS,
    }
    return render(request, "leader/stalled.html", context)


@router.get("/leder/stoppet.csv")
async def stalled_csv(
    scope: WebScope, session: SessionDep,
    kommune: str = "", enhet: str = "", type: str = "", arsak: str = "",
) -> Response:  # fmt: skip
    """Exactly the rows the page shows for the same filters, for a spreadsheet."""
    _leader_only(scope)
    rows = await leader.stalled(session, scope, _filters(kommune, enhet, type, arsak))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(_csv_row(row))
    return Response(
        "\ufeff" + out.getvalue(),  # the BOM makes Excel read æøå right
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="stoppede-overganger.csv"'},
    )


def _csv_row(row: leader.StalledRow) -> list[str]:
    item = row.item
    return [
        item.transition_id,
        TRANSITION_KIND.get(item.kind, item.kind),
        row.municipality_name,
        row.origin_unit_name,
        ", ".join(leader.REASONS.get(r, r) for r in item.reasons),
        ", ".join(row.stuck_units),
        str(item.max_escalation_level),
        norwegian_datetime(row.first_due) if row.first_due else "",  # type: ignore[arg-type]
        "" if item.days_since_ready is None else str(item.days_since_ready),
    ]


@router.get("/leder/statistikk")
async def charts_page(request: Request, scope: WebScope, session: SessionDep) -> Response:
    _leader_only(scope)
    all_charts = await charts.all_charts(session, scope, datetime.now(UTC))
    return render(request, "leader/charts.html", {"charts": all_charts, "weeks": charts.WEEKS})
