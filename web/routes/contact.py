"""The municipal contact's pages: the inbox (updating by itself) and one task with its
commands: kvittere, ta imot, avvise eller videresende med begrunnelse, fullføre med notat."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowUpdateFailedError

from api.auth.access import Scope
from api.auth.policy import Forbidden
from api.deps import SessionDep, TemporalDep
from api.directory import lookup
from api.errors import Problem, refusal_reason
from api.tasks import checks, choices
from api.tasks import service as tasks
from api.transitions import service as transitions
from domain.commands import AcceptTask, AcknowledgeTask, CompleteTask, RejectTask
from domain.lar import AnswerConsultation
from web.access_view import Refused
from web.formatting import NEED_LABELS
from web.identity import CsrfChecked, WebScope, mark_web
from web.rendering import render

router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)

POLL_SECONDS = 3
# A command the directory refuses (api.tasks.checks), at the form field that caused it.
COMMAND_ERRORS = {
    "forward_to_unit_id": "Oppgaven kan ikke sendes dit. Velg en av enhetene i listen.",
    "assignee_id": "Velg en kontakt eller vara for enheten som har oppgaven.",
}

DONE = {
    "kvitter": "Du har kvittert for mottak.",
    "ta-imot": "Kommunen har tatt imot oppgaven.",
    "avvis": "Oppgaven er avvist, og begrunnelsen er sendt.",
    "fullfor": "Oppgaven er fullført.",
    "lar-svar": "Svaret er sendt til LAR-legen.",
}


async def _inbox_context(scope: Scope, session: SessionDep) -> dict[str, object]:
    items = await tasks.inbox(session, scope, open_only=True)
    units = await lookup.unit_names(
        session, [i.task.owner_unit_id for i in items] + [i.origin_unit_id for i in items]
    )
    return {"items": items, "units": units}


@router.get("/innboks")
async def inbox(
    request: Request, scope: WebScope, session: SessionDep, utfort: str = ""
) -> Response:
    context = await _inbox_context(scope, session)
    context["message"] = DONE.get(utfort, "")
    context["version"] = await tasks.inbox_version(session, scope)
    return render(request, "contact/inbox.html", {**context, "poll_seconds": POLL_SECONDS})


@router.get("/innboks/versjon")
async def inbox_version(scope: WebScope, session: SessionDep) -> dict[str, str]:
    """A fingerprint of the inbox without patient data: the page polls this cheaply and
    fetches (and audit-logs) the rows only when it changes."""
    return {"version": await tasks.inbox_version(session, scope)}


@router.get("/innboks/rader")
async def inbox_rows(request: Request, scope: WebScope, session: SessionDep) -> Response:
    """The inbox's rows alone, for the page's own polling script."""
    return render(request, "contact/_rows.html", await _inbox_context(scope, session))


async def _task_context(
    request: Request, scope: Scope, session: SessionDep, task_id: str
) -> dict[str, object]:
    """The step and its transition as the access model shows them to the caller."""
    request.state.refused = Refused("task")
    row = await tasks.task_for_command(session, scope.actor, task_id)
    detail = await transitions.transition_detail(session, scope, row.transition_id)
    task = next((t for t in detail.tasks if t.id == task_id), None)
    if task is None:  # the model shows the transition but not this step
        raise Forbidden("the access model does not show you this step")
    request.state.refused = None
    return {
        "task": task,
        "t": detail,
        "patient_name": detail.patient_name or "",
        "needs": [NEED_LABELS.get(k, k) for k, v in (detail.needs or {}).items() if v],
        "units": await lookup.unit_names(session, [detail.origin_unit_id, task.owner_unit_id]),
        "forward_units": await choices.forward_choices(session, row),
        "errors": {},
        "error": "",
        "message": "",
    }


@router.get("/oppgaver/{task_id}")
async def task_page(
    request: Request, task_id: str, scope: WebScope, session: SessionDep, utfort: str = ""
) -> Response:
    context = await _task_context(request, scope, session, task_id)
    context["message"] = DONE.get(utfort, "")
    return render(request, "contact/task.html", context)


@router.get("/tasks/{task_id}", include_in_schema=False)
async def task_page_of_old_mail(task_id: str) -> Response:
    """E-mails and webhooks sent before the link named /oppgaver/ still lead to the task."""
    return RedirectResponse(f"/oppgaver/{task_id}", status_code=301)


async def _run(
    request: Request, scope: Scope, session: SessionDep, temporal: TemporalDep,
    task_id: str, command_of: type[BaseModel], done: str, **fields: object,
) -> Response:  # fmt: skip
    actor = scope.actor
    row = await tasks.task_for_command(session, actor, task_id)
    try:
        command = command_of(task_id=task_id, actor=actor, **fields)
        await checks.check(session, row, command)
        await tasks.send_command(temporal, row, command)
    except ValidationError:
        return await _refused(request, scope, session, task_id, {"reason": "Skriv en begrunnelse."})
    except Problem as problem:
        if problem.status != 422:
            raise
        return await _refused(request, scope, session, task_id, _command_errors(problem))
    except WorkflowUpdateFailedError as error:
        reason = refusal_reason(error)
        return await _refused(request, scope, session, task_id, {}, reason)
    if command_of is RejectTask:
        # Rejecting hands the step on: the unit no longer reads the transition (domain.access).
        return RedirectResponse(f"/innboks?utfort={done}", status_code=303)
    return RedirectResponse(f"/oppgaver/{task_id}?utfort={done}", status_code=303)


def _command_errors(problem: Problem) -> dict[str, str]:
    fields = {item["field"] for item in problem.extra.get("errors", [])}
    return {field: COMMAND_ERRORS.get(field, "Sjekk dette feltet.") for field in fields}


async def _refused(
    request: Request, scope: Scope, session: SessionDep, task_id: str,
    errors: dict[str, str], reason: str = "",
) -> Response:  # fmt: skip
    context = await _task_context(request, scope, session, task_id)
    context["errors"] = errors
    context["error"] = reason
    status = 422 if errors else 409
    return render(request, "contact/task.html", context, status=status)


@router.post("/oppgaver/{task_id}/kvitter", dependencies=[CsrfChecked])
async def acknowledge(
    request: Request, task_id: str, scope: WebScope, session: SessionDep, temporal: TemporalDep
) -> Response:
    return await _run(request, scope, session, temporal, task_id, AcknowledgeTask, "kvitter")


@router.post("/oppgaver/{task_id}/ta-imot", dependencies=[CsrfChecked])
async def accept(
    request: Request, task_id: str, scope: WebScope, session: SessionDep, temporal: TemporalDep
) -> Response:
    return await _run(request, scope, session, temporal, task_id, AcceptTask, "ta-imot")


@router.post("/oppgaver/{task_id}/avvis", dependencies=[CsrfChecked])
async def reject(
    request: Request, task_id: str, scope: WebScope, session: SessionDep, temporal: TemporalDep
) -> Response:
    form = await request.form()
    forward_to = str(form.get("forward_to_unit_id") or "") or None
    return await _run(
        request, scope, session, temporal, task_id, RejectTask, "avvis",
        reason=str(form.get("reason", "")).strip(), forward_to_unit_id=forward_to,
    )  # fmt: skip


@router.post("/oppgaver/{task_id}/fullfor", dependencies=[CsrfChecked])
async def complete(
    request: Request, task_id: str, scope: WebScope, session: SessionDep, temporal: TemporalDep
) -> Response:
    form = await request.form()
    note = str(form.get("note", "")).strip() or None
    return await _run(
        request, scope, session, temporal, task_id, CompleteTask, "fullfor", note=note
    )


def _answer_errors(agree: object, comment: str) -> dict[str, str]:
    errors = {}
    if agree not in ("ja", "nei"):
        errors["agree"] = "Velg om kommunen er enig i endringen."
    if not comment:
        errors["comment"] = "Skriv en kommentar til LAR-legen."
    return errors


@router.post("/oppgaver/{task_id}/lar-svar", dependencies=[CsrfChecked])
async def answer_lar_change(
    request: Request, task_id: str, scope: WebScope, session: SessionDep, temporal: TemporalDep
) -> Response:
    """The municipality's LAR contact agrees or objects to a LAR change, with a comment."""
    row = await tasks.task_for_command(session, scope.actor, task_id)
    transition = await transitions.commanded_by_municipality(
        session, scope.actor, row.transition_id, kind="lar_change", what="an answer"
    )
    form = await request.form()
    comment = str(form.get("comment", "")).strip()
    errors = _answer_errors(form.get("agree"), comment)
    if errors:
        return await _refused(request, scope, session, task_id, errors)
    command = AnswerConsultation(actor=scope.actor, agree=form["agree"] == "ja", comment=comment)
    try:
        await transitions.send_for_task(temporal, transition, command)
    except WorkflowUpdateFailedError as error:
        reason = refusal_reason(error)
        return await _refused(request, scope, session, task_id, {}, reason)
    return RedirectResponse(f"/oppgaver/{task_id}?utfort=lar-svar", status_code=303)
