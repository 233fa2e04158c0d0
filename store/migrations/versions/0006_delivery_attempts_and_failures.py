"""notifications: attempt count, failure and its error

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notifications",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("notifications", sa.Column("failed_at", sa.DateTime(timezone=True)))
    op.add_column("notifications", sa.Column("error", sa.String(length=200)))
    # What went out before attempts were counted went out once, as far as we know.
    op.execute("UPDATE notifications SET attempts = 1 WHERE sent_at IS NOT NULL")
    op.create_index(
        "ix_notifications_failed",
        "notifications",
        ["failed_at", "id"],
        postgresql_where=sa.text("failed_at IS NOT NULL AND sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_failed", table_name="notifications")
    op.drop_column("notifications", "error")
    op.drop_column("notifications", "failed_at")
    op.drop_column("notifications", "attempts")
