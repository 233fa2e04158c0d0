"""Every table module, imported so Alembic and tests see the whole schema."""

from store import tables  # noqa: F401
