"""Tracing: OpenTelemetry, exported over OTLP/HTTP where ``OTEL_EXPORTER_OTLP_ENDPOINT``
points, off when it is unset. When it is on, the Temporal client carries the SDK's
``OpenTelemetryPlugin``, so one trace runs from the HTTP request through the workflow and its
activities (api/request_context.py makes or joins the request's span)."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.contrib.opentelemetry import (
    OpenTelemetryPlugin,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)
from temporalio.plugin import SimplePlugin

from foundation.settings import Settings


def tracer_provider(settings: Settings, exporter: SpanExporter) -> ReplaySafeTracerProvider:
    """A provider the Temporal plugin accepts (replay-safe ids and spans), exporting in batches."""
    resource = Resource.create({"service.name": settings.otel_service_name})
    provider = create_tracer_provider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def otlp_exporter(endpoint: str) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


def configure_tracing(settings: Settings) -> bool:
    """Export traces where OTEL_EXPORTER_OTLP_ENDPOINT points; True if tracing is on."""
    if not settings.otel_exporter_otlp_endpoint:
        return False
    exporter = otlp_exporter(settings.otel_exporter_otlp_endpoint)
    trace.set_tracer_provider(tracer_provider(settings, exporter))
    return True


def tracing_enabled() -> bool:
    return isinstance(trace.get_tracer_provider(), ReplaySafeTracerProvider)


def temporal_plugins() -> list[SimplePlugin]:
    """The SDK's OpenTelemetry plugin when tracing is on (it refuses any other provider)."""
    if not tracing_enabled():
        return []
    _skip_detach_noise()
    return [OpenTelemetryPlugin(add_temporal_spans=True)]


class _DetachNoise(logging.Filter):
    """When the worker evicts a running workflow from its cache (at every shutdown, for each
    one), the plugin's span context is closed from another context and OpenTelemetry logs
    "Failed to detach context" with a traceback: harmless (sdk-python #441, fixed there for
    the legacy interceptor only), and a flood of the kind these logs must not have."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        closed = isinstance(getattr(error, "__context__", None), GeneratorExit)
        return not (closed and record.getMessage() == "Failed to detach context")


def _skip_detach_noise() -> None:
    context_logger = logging.getLogger("opentelemetry.context")
    if not any(isinstance(f, _DetachNoise) for f in context_logger.filters):
        context_logger.addFilter(_DetachNoise())
