"""What leaders see: the stalled transitions the API's oversight report finds (issue 5's
`api.audit.service.stalled`), narrowed by the page's filters and given names for ids; the
units a transition stands at come from the open steps the access model shows the leader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service as oversight
from api.audit.schemas import StalledTransition
from api.auth.access import Scope
from api.directory import lookup
from api.transitions.steps import steps_of

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
    first_due: datetime | None = None


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
    return await _named(session, scope, items)


async def _named(
    session: AsyncSession, scope: Scope, items: list[StalledTransition]
) -> list[StalledRow]:
    steps = await steps_of(session, scope, [i.transition_id for i in items], open_only=True)
    unit_ids = [t.owner_unit_id for shown in steps.values() for t in shown]
    units = await lookup.unit_names(session, unit_ids + [i.origin_unit_id for i in items])
    municipalities = await lookup.municipality_names(session)
    rows = []
    for item in items:
        mine = steps.get(item.transition_id, [])
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


async def filter_choices(session: AsyncSession, scope: Scope) -> lookup.Choices:
    """The municipalities and units the leader's report can cover."""
    return await lookup.oversight_choices(session, scope)
