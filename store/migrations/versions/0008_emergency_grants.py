"""emergency access grants (blålys)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emergency_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("transition_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("followed_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followed_up_by", sa.String(length=64), nullable=True),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_emergency_grants_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["transition_id"],
            ["transitions.id"],
            name=op.f("fk_emergency_grants_transition_id_transitions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_grants")),
    )
    op.create_index(
        op.f("ix_emergency_grants_transition_id"), "emergency_grants", ["transition_id"]
    )
    op.create_index(
        "ix_emergency_grants_person_expires", "emergency_grants", ["person_id", "expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_emergency_grants_person_expires", table_name="emergency_grants")
    op.drop_index(op.f("ix_emergency_grants_transition_id"), table_name="emergency_grants")
    op.drop_table("emergency_grants")
