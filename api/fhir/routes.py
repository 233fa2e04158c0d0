"""FHIR R4 read facade: Task search and read, under the same access model as the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.audit import recorder
from api.auth import access as reading
from api.deps import ScopeDep, SessionDep
from api.errors import Problem
from api.fhir import resources
from domain.access import Part
from domain.tasks import TaskStatus
from store import transition_search

router = APIRouter(prefix="/fhir/r4", tags=["fhir"])
FHIR_STATUSES = {status.value for status in TaskStatus}
# The search parameters Task search applies. FHIR lets a server ignore others, but an ignored
# `patient=` answers with every patient's tasks under a self link that claims the filter, so
# anything else is refused, naming the parameter (like FHIR's `Prefer: handling=strict`).
TASK_SEARCH_PARAMETERS = frozenset({"owner", "status", "_count"})


class FhirResponse(JSONResponse):
    media_type = "application/fhir+json"


def _owner_id(owner: str | None) -> str | None:
    """`owner` as `Organization/<unit id>` or a bare unit id."""
    return owner.removeprefix("Organization/") if owner else None


def _refuse_unknown_parameters(request: Request) -> None:
    unknown = sorted(set(request.query_params) - TASK_SEARCH_PARAMETERS)
    if unknown:
        supported = ", ".join(sorted(TASK_SEARCH_PARAMETERS))
        errors = [{"field": name, "message": f"not supported; use {supported}"} for name in unknown]
        detail = f"{unknown[0]}: search parameter not supported; use {supported}"
        raise Problem(422, "Invalid request", detail, errors=errors)


def _statuses(status: str | None) -> list[str]:
    wanted = [s for s in (status or "").split(",") if s]
    unknown = [s for s in wanted if s not in FHIR_STATUSES]
    if unknown:
        message = (
            f"unknown Task status {', '.join(unknown)}; use {', '.join(sorted(FHIR_STATUSES))}"
        )
        raise Problem(
            422,
            "Invalid request",
            f"status: {message}",
            errors=[{"field": "status", "message": message}],
        )
    return wanted


@router.get("/Task", response_class=FhirResponse, response_model=dict[str, Any])
async def search_tasks(
    request: Request,
    scope: ScopeDep,
    session: SessionDep,
    owner: Annotated[
        str | None, Query(max_length=100, description="Organization/<unit id>")
    ] = None,
    status: Annotated[str | None, Query(max_length=200, description="Comma-separated, OR")] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=500)] = 100,
) -> FhirResponse:
    """A searchset Bundle of the Tasks the caller may see: every step of a transition they
    care for or oversee; under consent (NAV, housing), only their own units' steps."""
    _refuse_unknown_parameters(request)
    rows = await transition_search.tasks(
        session,
        scope.visible_steps(),
        owner=_owner_id(owner),
        statuses=_statuses(status),
        limit=count,
    )
    found = await reading.accesses(session, scope, list({t.id: t for _, t, _ in rows}.values()))
    own = reading.own_units(scope)
    shown = [
        (task, access, unit)
        for task, transition, unit in rows
        if (access := found.get(transition.id))
        and reading.shows_step(access, task.owner_unit_id, own)
    ]
    await recorder.record_accesses(
        session, scope.actor, "fhir.task.search", {a.transition.id: a for _, a, _ in shown}.values()
    )
    base = str(request.base_url).rstrip("/") + "/fhir/r4"
    entries = [
        resources.task_resource(t, a.transition, u, clinical=a.shows(Part.CLINICAL))
        for t, a, u in shown
    ]
    return FhirResponse(resources.searchset(base, str(request.url), entries))


@router.get("/Task/{task_id}", response_class=FhirResponse, response_model=dict[str, Any])
async def read_task(task_id: str, scope: ScopeDep, session: SessionDep) -> FhirResponse:
    found = await transition_search.task(session, task_id)
    if found is None:
        raise Problem(404, "Not found", f"no Task {task_id}")
    task, transition, unit = found
    access = await reading.open_transition(session, scope, transition)
    if not reading.shows_step(access, task.owner_unit_id, reading.own_units(scope)):
        raise reading.refuse(transition, "this Task is another unit's step: you read only your own")
    await recorder.record(
        session,
        scope.actor,
        "fhir.task.read",
        patient_id=transition.patient_id,
        transition_id=transition.id,
        purpose=access.purpose,
        reason=await reading.emergency_reason(session, scope, access),
    )
    clinical = access.shows(Part.CLINICAL)
    return FhirResponse(resources.task_resource(task, transition, unit, clinical=clinical))
