"""The embedded stack: PostgreSQL and the Temporal dev server from PyPI wheels, no Docker."""

from overgang.embedded.ports import free_port
from overgang.embedded.postgres import EmbeddedPostgres, EmbeddedPostgresError
from overgang.embedded.temporal_server import TemporalDevServer, TemporalDevServerError

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "TemporalDevServer",
    "TemporalDevServerError",
    "free_port",
]
