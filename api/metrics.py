"""Prometheus metrics: requests by route template (count, latency) and transitions started,
beside the process's own (the default registry) and the Temporal SDK's (foundation.telemetry).

Each app gets its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.telemetry import add_process_metrics

# The routes that start transitions, by kind; a 201/202 that is not an idempotent replay counts.
START_ROUTES = {
    "/api/v1/discharges": "discharge",
    "/api/v1/lar-changes": "lar_change",
    "/api/v1/portfolio-transfers": "portfolio_transfer",
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "overgang_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "overgang_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.transitions_started = Counter(
            "overgang_transitions_started_total",
            "Transition workflows started through the API, by kind.",
            ["kind"],
            registry=self.registry,
        )
        add_process_metrics(self.registry)

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        replay = scope.get("state", {}).get("idempotent_replay", False)
        if method == "POST" and status in (201, 202) and route in START_ROUTES and not replay:
            self.transitions_started.labels(START_ROUTES[route]).inc()


class MetricsMiddleware:
    """Pure ASGI: sees the final status and the matched route template after the call."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)


def install(app: FastAPI) -> None:
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus text format; needs no token (like /healthz), holds no personal data.
        In a thread: reading the Temporal SDK's endpoint must not hold up the event loop."""
        text = await asyncio.to_thread(generate_latest, metrics.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)
