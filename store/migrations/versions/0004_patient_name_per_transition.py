"""the patient's name per transition, and who started which transition for which patient

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("transitions", sa.Column("patient_name", sa.String(length=200), nullable=True))
    # Existing transitions show the name the patient row holds now (the last one given).
    op.execute(
        "UPDATE transitions SET patient_name = patients.name FROM patients "
        "WHERE patients.id = transitions.patient_id"
    )
    op.alter_column("transitions", "patient_name", nullable=False)
    op.create_table(
        "transition_patients",
        sa.Column("transition_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("patient_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("origin_unit_id", sa.String(length=64), nullable=False),
        sa.Column("new_episode", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_transition_patients_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("transition_id", name=op.f("pk_transition_patients")),
    )
    op.create_index(
        "ix_transition_patients_patient_origin",
        "transition_patients",
        ["patient_id", "origin_unit_id"],
    )
    op.create_index(
        "ix_transitions_patient_origin", "transitions", ["patient_id", "origin_unit_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_transitions_patient_origin", table_name="transitions")
    op.drop_index("ix_transition_patients_patient_origin", table_name="transition_patients")
    op.drop_table("transition_patients")
    op.drop_column("transitions", "patient_name")
