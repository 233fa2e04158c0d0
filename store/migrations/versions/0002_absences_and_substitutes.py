"""absences and substitutes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("substitute_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_absences_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["substitute_id"], ["people.id"], name=op.f("fk_absences_substitute_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    op.create_index("ix_absences_person_period", "absences", ["person_id", "starts_at", "ends_at"])
    op.create_index(
        "ix_absences_substitute_period", "absences", ["substitute_id", "starts_at", "ends_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_absences_substitute_period", table_name="absences")
    op.drop_index("ix_absences_person_period", table_name="absences")
    op.drop_table("absences")
