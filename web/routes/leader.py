"""The leader's pages: stalled transitions with filters and CSV export, the charts, and the
emergency accesses to follow up."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import policy
from api.auth.access import Scope
from api.deps import SessionDep
from api.directory import lookup
from api.emergency import service as emergency
from api.emergency.schemas import FollowUpBody
from web import charts, leader
from web.formatting import TRANSITION_KIND, norwegian_datetime
from web.identity import CsrfChecked, WebScope, mark_web
from web.rendering import render

router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)

CSV_HEADER = [
    "Overgang", "Type", "Kommune", "Fra enhet", "Hvorfor", "Enheter med åpne steg",
    "Eskaleringsnivå", "Første frist", "Overliggedøgn",
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
        norwegian_datetime(row.first_due) if row.first_due else "",
        "" if item.days_since_ready is None else str(item.days_since_ready),
    ]


@router.get("/leder/statistikk")
async def charts_page(request: Request, scope: WebScope, session: SessionDep) -> Response:
    _leader_only(scope)
    all_charts = await charts.all_charts(session, scope, datetime.now(UTC))
    return render(request, "leader/charts.html", {"charts": all_charts, "weeks": charts.WEEKS})


FOLLOWED_UP = "Nødtilgangen er markert som fulgt opp."


@router.get("/leder/nodtilgang")
async def emergency_follow_up_page(
    request: Request, scope: WebScope, session: SessionDep, alle: str = "", melding: str = ""
) -> Response:
    """Emergency accesses by the leader's people and on their units' transitions, to follow up
    (api.emergency): open ones first; `alle=ja` shows those followed up too."""
    _leader_only(scope)
    grants = await emergency.for_follow_up(session, scope, open_only=alle != "ja")
    people = [g.person_id for g in grants] + [g.followed_up_by for g in grants]
    context = {
        "grants": grants,
        "people": await lookup.person_names(session, people),
        "units_of": await lookup.unit_names_of_people(session, [g.person_id for g in grants]),
        "all": alle == "ja",
        "my_id": scope.actor.person_id,
        "message": FOLLOWED_UP if melding == "fulgt-opp" else "",
    }
    return render(request, "leader/emergency.html", context)


@router.post("/leder/nodtilgang/{grant_id}/fulgt-opp", dependencies=[CsrfChecked])
async def mark_followed_up(
    request: Request, grant_id: int, scope: WebScope, session: SessionDep
) -> Response:
    _leader_only(scope)
    note = str((await request.form()).get("note", "")).strip()[:2000] or None
    await emergency.follow_up(session, scope, grant_id, FollowUpBody(note=note))
    return RedirectResponse("/leder/nodtilgang?melding=fulgt-opp", status_code=303)
