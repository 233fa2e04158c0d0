"""Every error as RFC 9457 problem+json, with a detail that names the field or the rule."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"


class Problem(Exception):
    """Raise from a route or service to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _validation_errors(error: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for item in error.errors():
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append({"field": _field_name(tuple(item.get("loc", ()))), "message": message})
    return errors


async def _on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = _validation_errors(error)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem_response(422, "Invalid request", detail, errors=errors)


async def _on_problem(request: Request, error: Problem) -> JSONResponse:
    return problem_response(error.status, error.title, error.detail, **error.extra)


async def _on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
    headers = dict(error.headers) if error.headers else None
    return problem_response(
        error.status_code, _title(error.status_code), str(error.detail), headers
    )


async def _on_update_failed(request: Request, error: WorkflowUpdateFailedError) -> JSONResponse:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == "CommandRefused":
        return problem_response(409, "Command refused", cause.message)
    return problem_response(409, "Command refused", str(cause or error))


async def _on_rpc(request: Request, error: RPCError) -> JSONResponse:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return _unavailable("Temporal")
    if error.status is RPCStatusCode.NOT_FOUND:
        return problem_response(404, "Not found", "the transition's workflow was not found")
    return problem_response(502, "Workflow service error", error.message)


async def _on_database(request: Request, error: Exception) -> JSONResponse:
    return _unavailable("PostgreSQL")


def _unavailable(service: str) -> JSONResponse:
    return problem_response(
        503,
        "Service unavailable",
        f"{service} is not reachable; nothing was changed. Try again shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
    }.get(status, "Error")


def is_connection_error(error: BaseException) -> bool:
    return isinstance(error, (OperationalError, InterfaceError, ConnectionError, OSError)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(WorkflowUpdateFailedError, _on_update_failed)  # type: ignore[arg-type]
    app.add_exception_handler(RPCError, _on_rpc)  # type: ignore[arg-type]
    for error_type in (OperationalError, InterfaceError, ConnectionError, OSError):
        app.add_exception_handler(error_type, _on_database)
