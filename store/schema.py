"""Every table module, imported so Alembic and tests see the whole schema."""

from store import absences, audit, idempotency, patients, tables  # noqa: F401
