"""Every table module, imported so Alembic and tests see the whole schema."""

from store import absences, audit, emergency, idempotency, patients, tables  # noqa: F401
