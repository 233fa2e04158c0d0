"""Connecting to Temporal: the embedded dev server, a cluster, or Temporal Cloud."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig

from foundation.codec import build_codec, data_converter
from foundation.settings import Settings
from foundation.telemetry import temporal_runtime
from foundation.tracing import temporal_plugins


def _tls(settings: Settings) -> TLSConfig | bool:
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return settings.temporal_tls or settings.temporal_api_key is not None


async def connect(settings: Settings, address: str | None = None) -> Client:
    """A client whose payloads are encrypted with the configured key ring, on the process's
    Runtime (metrics), traced when tracing is on."""
    target = address or settings.temporal_address
    if target is None:
        raise ValueError("no Temporal address: start the embedded server or set TEMPORAL_ADDRESS")
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(build_codec(settings)),
        tls=_tls(settings),
        api_key=api_key,
        runtime=temporal_runtime(settings),
        plugins=temporal_plugins(),
    )
