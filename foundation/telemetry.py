"""The Temporal SDK's metrics beside ours, in Prometheus' text format.

The SDK's core keeps its metrics (workflow task failures, schedule-to-start latency, ...) and
those recorded through its meters (the escalation lag a workflow records) in its own Prometheus
endpoint, which one Runtime per process serves on a private loopback port. Our /metrics reads
that endpoint at scrape time and serves it together with prometheus_client's registries: the
API's /metrics under `overgang up` and `overgang api`, and a small server of its own for
`overgang worker` running alone.
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from foundation.settings import Settings

log = logging.getLogger(__name__)
ESCALATION_LAG = "overgang_escalation_lag_seconds"
# Escalation waits are minutes to days: seconds-scale buckets would say nothing about them.
ESCALATION_LAG_BUCKETS = [1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0]
SCRAPE_TIMEOUT_SECONDS = 2.0

_runtime: Runtime | None = None
_metrics_url: str | None = None


def temporal_runtime(settings: Settings) -> Runtime:
    """The process's one Runtime: core logs through Python's logging, metrics for Prometheus."""
    global _runtime, _metrics_url
    if _runtime is None:
        address = f"127.0.0.1:{_free_port()}" if settings.temporal_metrics else None
        _runtime = Runtime(telemetry=_telemetry(address))
        _metrics_url = f"http://{address}/metrics" if address else None
    return _runtime


def temporal_metrics_url() -> str | None:
    """Where this process's Runtime serves the SDK's metrics, if it does."""
    return _metrics_url


def _telemetry(metrics_address: str | None) -> TelemetryConfig:
    core_logs = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    metrics = (
        PrometheusConfig(
            bind_address=metrics_address,
            counters_total_suffix=True,
            durations_as_seconds=True,
            histogram_bucket_overrides={ESCALATION_LAG: ESCALATION_LAG_BUCKETS},
        )
        if metrics_address
        else None
    )
    return TelemetryConfig(logging=core_logs, metrics=metrics)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporalSdkCollector(Collector):
    """The Runtime's metrics, read from its endpoint each time Prometheus scrapes us (the
    Runtime may be made after this collector: an app connects to Temporal when it starts)."""

    def describe(self) -> Iterable[Metric]:
        return []  # the names are the SDK's and change with what it has seen

    def collect(self) -> Iterable[Metric]:
        url = temporal_metrics_url()
        if url is None:
            return []
        try:
            with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_SECONDS) as answer:
                text = answer.read().decode()
        except OSError as error:
            log.warning("Temporal SDK metrics unavailable at %s: %s", url, error)
            return []
        return list(text_string_to_metric_families(text))


class ProcessRegistryCollector(Collector):
    """prometheus_client's default registry: the process's own counters (the activities'
    notification failures) and its process and Python collectors."""

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def add_process_metrics(registry: CollectorRegistry) -> None:
    """Make `registry` also serve the default registry's and the Temporal SDK's metrics."""
    registry.register(ProcessRegistryCollector())
    registry.register(TemporalSdkCollector())


def serve_worker_metrics(settings: Settings) -> WSGIServer:
    """For `overgang worker` alone: /metrics on its own port (server.server_port)."""
    registry = CollectorRegistry()
    add_process_metrics(registry)
    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    try:
        server, _ = start_http_server(port, host, registry)
    except OSError as error:  # a second worker on this host: serve anyway, and say where
        server, _ = start_http_server(0, host, registry)
        log.warning("metrics port %d is taken (%s); serving on another", port, error)
    log.info("worker metrics on http://%s:%d/metrics", host, server.server_port)
    return server
