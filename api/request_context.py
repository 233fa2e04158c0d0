"""Each request gets an id that every log line made while serving it carries (and that the
answer names in X-Request-ID), and a server span that the Temporal calls it makes continue:
the trace runs on into the workflow and its activities."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.observability import REQUEST_ID

REQUEST_ID_HEADER = "x-request-id"
# A caller's own id is kept only when it cannot carry anything but an id.
CALLERS_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
tracer = trace.get_tracer("overgang.api")


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            given = value.decode("latin-1")
            if CALLERS_REQUEST_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


def _carrier(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _finish(span: Span, scope: Scope, status: int) -> None:
    """Name the span by the route template (never the path: ids in it are not for traces)."""
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    span.update_name(f"{scope['method']} {route}")
    span.set_attributes({"http.route": route, "http.response.status_code": status})
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


@contextmanager
def server_span(scope: Scope, request_id: str) -> Iterator[Span | None]:
    """The request's server span: FastAPI's own where it makes one (recent versions do when
    a tracer provider is set), else ours, continuing the caller's trace (traceparent)."""
    current = trace.get_current_span()
    if current.get_span_context().is_valid:
        current.set_attribute("overgang.request_id", request_id)
        yield None
        return
    with tracer.start_as_current_span(
        scope["method"],
        context=propagate.extract(_carrier(scope)),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": scope["method"], "overgang.request_id": request_id},
    ) as span:
        yield span


class RequestContextMiddleware:
    """Pure ASGI, outermost of ours: the id and the span hold for all the request does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, status = request_id_of(scope), 500
        token = REQUEST_ID.set(request_id)

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (REQUEST_ID_HEADER.encode(), request_id.encode())
                )
            await send(message)

        with server_span(scope, request_id) as own_span:
            try:
                await self.app(scope, receive, answer)
            finally:
                if own_span is not None:
                    _finish(own_span, scope, status)
                REQUEST_ID.reset(token)


def install(app: FastAPI) -> None:
    """Add last, so that it wraps every other middleware."""
    app.add_middleware(RequestContextMiddleware)
