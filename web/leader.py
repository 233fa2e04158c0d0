"""What leaders see: the stalled transitions the API's oversight report finds (issue 5's
`api.audit.service.stalled`), narrowed by the page's filters and given names for ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service as oversight
from api.audit.schemas import StalledTransition
from api.auth.access import Scope
from domain.tasks import OPEN_STATUSES
from store.tables import Municipality, TaskRow, Unit
from web import queries

REASONS = {
    "overdue": "Frist passert",
    "escalated": "Eskalert",
    "bounced": "Avvist eller sendt videre",
    "waiting_after_ready": "Utskrivningsklar, venter på kommunen",
    "no_progress": "Ingen fremdrift",
}
IDLE_BUSINESS_DAYS = 3


@dataclass(frozen=True)
class StalledFilters:
    municipality: str = ""
    unit: str = ""
    kind: str = ""
    reason: str = ""

    def as_query(self) -> str:
        names = {"municipality": "kommune", "unit": "enhet", "kind": "type", "reason": "arsak"}
        return urlencode({names[k]: v for k, v in self.__dict__.items() if v})


@dataclass
class StalledRow:
    item: StalledTransition
    municipality_name: str
    origin_unit_name: str
    stuck_units: list[str] = field(default_factory=list)
    first_due: object = None


async def stalled(session: AsyncSession, scope: Scope, filters: StalledFilters) -> list[StalledRow]:
    """The report for the filters, most escalated first (then oldest)."""
    items = await oversight.stalled(
        session,
        scope,
        municipality=filters.municipality or None,
        unit=filters.unit or None,
        idle_business_days=IDLE_BUSINESS_DAYS,
    )
    items = [
        i
        for i in items
        if (not filters.kind or i.kind == filters.kind)
        and (not filters.reason or filters.reason in i.reasons)
    ]
    items.sort(key=lambda i: (-i.max_escalation_level, i.started_at))
    return await _named(session, items)


async def _named(session: AsyncSession, items: list[StalledTransition]) -> list[StalledRow]:
    open_tasks = list(
        await session.scalars(
            select(TaskRow).where(
                TaskRow.transition_id.in_([i.transition_id for i in items]),
                TaskRow.status.in_([s.value for s in OPEN_STATUSES]),
            )
        )
    )
    units = await queries.unit_names(
        session, [t.owner_unit_id for t in open_tasks] + [i.origin_unit_id for i in items]
    )
    municipalities = await _municipality_names(session)
    rows = []
    for item in items:
        mine = [t for t in open_tasks if t.transition_id == item.transition_id]
        rows.append(
            StalledRow(
                item=item,
                municipality_name=municipalities.get(item.municipality_number, ""),
                origin_unit_name=units.get(item.origin_unit_id, item.origin_unit_id),
                stuck_units=sorted({units.get(t.owner_unit_id, t.owner_unit_id) for t in mine}),
                first_due=min((t.due_at for t in mine), default=None),
            )
        )
    return rows


async def _municipality_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Municipality.number, Municipality.name))
    return {number: name for number, name in rows}


async def filter_choices(session: AsyncSession, scope: Scope) -> dict[str, list[tuple[str, str]]]:
    """The municipalities and units the leader's report can cover."""
    municipalities = await session.execute(
        select(Municipality.number, Municipality.name)
        .where(Municipality.number.in_(sorted(scope.readable_municipalities)))
        .order_by(Municipality.name)
    )
    units = await session.execute(
        select(Unit.id, Unit.name)
        .where(Unit.id.in_(sorted(scope.readable_unit_ids)))
        .order_by(Unit.name)
    )
    return {
        "municipalities": [(n, f"{name} ({n})") for n, name in municipalities],
        "units": [tuple(row) for row in units],
    }
