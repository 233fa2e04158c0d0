"""Every error as RFC 9457 problem+json, with a detail that names the field or the rule."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

PROBLEM_JSON = "application/problem+json"
# asyncpg's errors for a server that is gone, going, or not yet accepting connections.
ASYNCPG_CONNECTION_ERRORS = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
        "InterfaceError",
        "InternalClientError",
    }
)
# SQLSTATEs for text PostgreSQL cannot store (NUL bytes, untranslatable characters).
UNSTORABLE_TEXT = frozenset({"22021", "22P05"})
log = logging.getLogger(__name__)
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
    extra = dict(error.extra)
    retry_after = extra.pop("retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return problem_response(error.status, error.title, error.detail, headers, **extra)


async def _on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
    headers = dict(error.headers) if error.headers else None
    return problem_response(
        error.status_code, _title(error.status_code), str(error.detail), headers
    )


def refusal_reason(error: WorkflowUpdateFailedError) -> str:
    """Why the workflow refused a command: its rule's own words (CommandRefused)."""
    cause = error.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or error)


async def _on_update_failed(request: Request, error: WorkflowUpdateFailedError) -> JSONResponse:
    return problem_response(409, "Command refused", refusal_reason(error))


async def _on_rpc(request: Request, error: RPCError) -> JSONResponse:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return _unavailable("Temporal")
    if error.status is RPCStatusCode.NOT_FOUND:
        return problem_response(404, "Not found", "the transition's workflow was not found")
    return problem_response(502, "Workflow service error", error.message)


async def _on_database(request: Request, error: Exception) -> JSONResponse:
    if getattr(getattr(error, "orig", None), "sqlstate", None) in UNSTORABLE_TEXT:
        return _nul_problem("request")
    if isinstance(error, DBAPIError) and not is_connection_error(error):
        log.error("database error on %s %s: %r", request.method, request.url.path, error)
        return problem_response(500, "Internal error", "the request failed; nothing was changed")
    return _unavailable("PostgreSQL")


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    """Last resort: still problem+json, and the details stay in the log, not the answer."""
    if is_connection_error(error):
        return _unavailable("PostgreSQL")
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal error", "the request failed unexpectedly")


def _nul_problem(field: str) -> JSONResponse:
    message = "contains a NUL character (\\u0000), which cannot be stored"
    errors = [{"field": field, "message": message}]
    return problem_response(422, "Invalid request", f"{field}: {message}", errors=errors)


class RefuseNulCharacters:
    """PostgreSQL cannot store NUL in text: refuse it up front, naming the field, before it
    can reach a workflow whose activity could then never write it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        field = _nul_field(scope) or _nul_in_json(body)
        if field is not None:
            await _nul_problem(field)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _nul_in_json(body: bytes) -> str | None:
    if b"\\u0000" not in body:
        return None
    try:
        return _nul_path(json.loads(body), ())
    except ValueError:
        return None  # not JSON: validation answers it


def _nul_path(value: Any, path: tuple[str, ...]) -> str | None:
    if isinstance(value, str):
        return (".".join(path) or "body") if "\x00" in value else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _nul_path(key, path) if isinstance(key, str) else None
        found = found or _nul_path(item, (*path, str(key)))
        if found:
            return found
    return None


def _nul_field(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "")
    return None


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
    """PostgreSQL unreachable: refused, reset, shutting down, or a pool connect timeout."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, DBAPIError) and isinstance(error.orig, Exception):
        return _is_asyncpg_connection_error(error.orig) or isinstance(
            error, (OperationalError, InterfaceError)
        )
    return isinstance(
        error, (OperationalError, InterfaceError, ConnectionError, OSError, TimeoutError)
    ) or _is_asyncpg_connection_error(error)


def _is_asyncpg_connection_error(error: BaseException) -> bool:
    name = type(error).__name__
    return name in ASYNCPG_CONNECTION_ERRORS or isinstance(error.__cause__, ConnectionError)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(WorkflowUpdateFailedError, _on_update_failed)  # type: ignore[arg-type]
    app.add_exception_handler(RPCError, _on_rpc)  # type: ignore[arg-type]
    for error_type in (DBAPIError, ConnectionError, OSError, TimeoutError):
        app.add_exception_handler(error_type, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
    document_problems(app)
    app.add_middleware(RefuseNulCharacters)


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; 422 adds `errors` naming each field.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
COMMON_PROBLEMS = {
    "401": "No valid bearer token",
    "403": "Refused by the authorization policy (the reason is in `detail`)",
    "404": "No such resource",
    "409": "The workflow refused the command (the reason is in `detail`)",
    "422": "Invalid request (each field named in `errors`)",
    "503": "PostgreSQL or Temporal unavailable; nothing was changed (see Retry-After)",
}
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def document_problems(app: FastAPI) -> None:
    """Every operation documents its problem answers (FastAPI's own 422 shape is replaced),
    so clients and schemathesis see the errors the API really sends."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = original()
        spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path, operations in spec.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                codes = {"503"} if path in PUBLIC_PATHS else COMMON_PROBLEMS.keys()
                for code in codes:
                    responses[code] = _problem_response(COMMON_PROBLEMS[code])
        for unused in ("HTTPValidationError", "ValidationError"):
            spec["components"]["schemas"].pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
