"""One request that starts a discharge yields one trace: the HTTP request, the workflow and
its activities, through the SDK's OpenTelemetry plugin (real Temporal, real PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from foundation.settings import Settings, load_settings
from foundation.temporal_client import connect
from foundation.tracing import (
    configure_tracing,
    otlp_exporter,
    tracer_provider,
    tracing_enabled,
)
from overgang.app import attach, create_app
from overgang.embedded import TemporalDevServer
from store.database import Database
from worker import build_worker

from factories import DirectoryFactory
from polling import eventually


@dataclass
class Traced:
    http: httpx.AsyncClient
    finished: Callable[[], list[ReadableSpan]]


@pytest.fixture
def memory_exporter(settings: Settings) -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test, exported to memory, and off again after it."""
    exporter = InMemorySpanExporter()
    provider = tracer_provider(settings, exporter)
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    # OpenTelemetry lets a process set its provider once; its own tests reset it like this.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


@pytest.fixture
async def traced(
    memory_exporter: InMemorySpanExporter,
    settings: Settings,
    db: Database,
    temporal_server: TemporalDevServer,
) -> AsyncIterator[Traced]:
    """The API and a worker of their own, on a client made while tracing is on."""
    own = settings.model_copy(update={"temporal_task_queue": f"traced-{uuid.uuid4()}"})
    client = await connect(own, temporal_server.address)
    app = create_app(own, database_url=db.url)
    attach(app, db, client)

    def finished() -> list[ReadableSpan]:
        trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
        return list(memory_exporter.get_finished_spans())

    transport = httpx.ASGITransport(app=app)
    async with (
        build_worker(client, db, own),
        httpx.AsyncClient(transport=transport, base_url="http://traced.test") as http,
    ):
        yield Traced(http, finished)


def spans_named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


async def test_one_trace_from_the_request_through_the_workflow_and_its_activities(
    traced: Traced, directory: DirectoryFactory
) -> None:
    assert tracing_enabled()
    coordinator = directory.headers(directory.identity.coordinator)
    started = await traced.http.post(
        "/api/v1/discharges", json=directory.discharge_body(), headers=coordinator
    )
    assert started.status_code == 201, started.text
    transition_id = started.json()["id"]
    cancelled = await traced.http.post(
        f"/api/v1/transitions/{transition_id}/cancel",
        json={"reason": "Feilregistrert"},
        headers=coordinator,
    )
    assert cancelled.status_code == 200, cancelled.text

    async def workflow_ended() -> list[ReadableSpan]:
        spans = traced.finished()
        return spans if spans_named(spans, "RunWorkflow:DischargeWorkflow") else []

    spans = await eventually(workflow_ended, what="the discharge workflow's span")
    [request] = [
        s
        for s in spans_named(spans, "POST /api/v1/discharges")
        if s.attributes
        and s.attributes.get("overgang.request_id") == started.headers["x-request-id"]
    ]
    assert request.parent is None, "the request is the root"
    trace_id = request.context.trace_id
    in_trace = {s.name for s in spans if s.context.trace_id == trace_id}
    assert {
        "StartUpdateWithStartWorkflow:DischargeWorkflow",
        "RunWorkflow:DischargeWorkflow",
        "StartActivity:register_transition",
        "RunActivity:register_transition",
        "RunActivity:load_escalation_policy",
        "RunActivity:project",
    } <= in_trace, in_trace
    ids = {s.context.span_id for s in spans}
    assert all(
        s.parent.span_id in ids for s in spans if s.context.trace_id == trace_id and s.parent
    )


async def test_a_callers_trace_is_continued(traced: Traced, directory: DirectoryFactory) -> None:
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    answer = await traced.http.get(
        "/api/v1/tasks",
        headers={
            **directory.headers(directory.identity.contact),
            "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01",
            "x-request-id": "caller-request-0001",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "caller-request-0001"
    spans = traced.finished()
    assert any(f"{s.context.trace_id:032x}" == caller_trace for s in spans)


class OtlpReceiver(ThreadingHTTPServer):
    """A real OTLP/HTTP endpoint on loopback that keeps the span names it was sent."""

    def __init__(self) -> None:
        self.names: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportTraceServiceRequest.FromString(body)
                receiver.names += (
                    [
                        span.name
                        for resource in request.resource_spans
                        for scope in resource.scope_spans
                        for span in scope.spans
                    ]
                    if self.path == "/v1/traces"
                    else []
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def test_spans_go_where_otel_exporter_otlp_endpoint_points(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = OtlpReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{receiver.server_port}"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        configured = load_settings(environment="test")
        assert configured.otel_exporter_otlp_endpoint == endpoint
        provider = tracer_provider(configured, otlp_exporter(endpoint))
        with provider.get_tracer("probe").start_as_current_span("probe-span"):
            pass
        assert provider.force_flush()
        assert receiver.names == ["probe-span"]
        provider.shutdown()
    finally:
        receiver.shutdown()
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    assert configure_tracing(load_settings(environment="test")) is False, "off when unset"
