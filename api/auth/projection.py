"""Projections: what of a transition's steps, timeline and details a caller receives, from
the parts the access model gives them (api.auth.access.Access.parts). Pure functions over
read-model rows, shared by every read path (API routes, pages, lists, FHIR, the feed).

- steps: ALL_STEPS shows every step; OWN_STEPS only those the caller's units hold;
- free text on a step (reason, note) and on the timeline needs CLINICAL; without it an
  event keeps only its process detail (domain.access.process_detail);
- the timeline follows the steps: with OWN_STEPS only, the events of the caller's own steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.auth.access import Access, shows_step
from api.tasks.schemas import TaskPublic
from api.transitions.schemas import EventPublic
from domain.access import Part, process_detail, visible_needs
from store.tables import EventRow, TaskRow


def visible_steps(
    access: Access, tasks: Iterable[TaskRow], own_units: frozenset[str]
) -> list[TaskRow]:
    return [t for t in tasks if shows_step(access, t.owner_unit_id, own_units)]


def task_public(row: TaskRow, access: Access) -> TaskPublic:
    """A step as the caller may see it: its reason and note are free text (CLINICAL)."""
    task = TaskPublic.from_row(row)
    if access.shows(Part.CLINICAL):
        return task
    return task.model_copy(update={"reason": None, "note": None})


def visible_events(
    access: Access, events: Iterable[EventRow], step_ids: set[str]
) -> list[EventRow]:
    if access.shows(Part.ALL_STEPS):
        return list(events)
    return [e for e in events if e.task_id is not None and e.task_id in step_ids]


def event_detail(detail: Mapping[str, Any], access: Access) -> dict[str, Any]:
    if access.shows(Part.CLINICAL):
        return dict(detail)
    return process_detail({k: str(v) for k, v in detail.items()})


def event_public(row: EventRow, access: Access) -> EventPublic:
    event = EventPublic.from_row(row)
    return event.model_copy(update={"detail": event_detail(row.detail or {}, access)})


def needs(details: Mapping[str, Any], access: Access) -> dict[str, bool] | None:
    """The needs the caller may see; None when their parts show none."""
    if not (access.shows(Part.CLINICAL) or access.shows(Part.NEEDS_AND_CONTACTS)):
        return None
    return visible_needs(details.get("needs") or {}, access.parts)


def when(access: Access, part: Part, value: Any) -> Any:
    """`value` if the caller's parts include `part`, else None (the field is left out)."""
    return value if access.shows(part) else None
