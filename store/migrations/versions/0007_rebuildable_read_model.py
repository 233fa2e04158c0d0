"""notifications' reference to transitions checked at commit when asked (read-model rebuild)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "fk_notifications_transition_id_transitions"


def upgrade() -> None:
    # Still checked at once by default; `overgang rebuild-read-model` defers it while it
    # empties and refills the transitions table in one transaction.
    op.execute(
        f"ALTER TABLE notifications ALTER CONSTRAINT {CONSTRAINT} DEFERRABLE INITIALLY IMMEDIATE"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE notifications ALTER CONSTRAINT {CONSTRAINT} NOT DEFERRABLE")
