"""PostgreSQL tables: the directory, the read model of transitions and tasks, the timeline.

Temporal is the source of truth for workflow state; these tables are written by activities
(idempotently, guarded by revision numbers) so the inbox and dashboards are plain queries.
Schema changes go through Alembic migrations in ``store/migrations``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonB = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _ts() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True))


# --- Directory -------------------------------------------------------------------------


class Municipality(Base):
    __tablename__ = "municipalities"

    number: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    leader_id: Mapped[str | None] = mapped_column(String(64))


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    municipality_number: Mapped[str | None] = mapped_column(
        ForeignKey("municipalities.number"), index=True
    )
    her_id: Mapped[str | None] = mapped_column(String(20))
    leader_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))  # write-only in the API
    webhook_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hours: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    hpr_number: Mapped[str | None] = mapped_column(String(9))
    roles: Mapped[list[str]] = mapped_column(JsonB, default=list)


class Membership(Base):
    """A person is a contact of a unit; backups are reached when the policy says so."""

    __tablename__ = "memberships"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    is_backup: Mapped[bool] = mapped_column(Boolean, default=False)


class EscalationPolicyRow(Base):
    """One version of a policy; a new version is a new row, old ones stay for history."""

    __tablename__ = "escalation_policies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality_number: Mapped[str | None] = mapped_column(ForeignKey("municipalities.number"))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    task_kind: Mapped[str | None] = mapped_column(String(40))
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JsonB)
    created_at: Mapped[datetime] = _ts()
    created_by: Mapped[str | None] = mapped_column(String(64))


# --- Patients and the read model ----------------------------------------------------------


class Patient(Base):
    """The only place a fødselsnummer is stored; everything else refers to the internal id.
    The name is the one first given for the number: each transition carries its own
    (Transition.patient_name), so a later discharge elsewhere renames nothing."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    fodselsnummer: Mapped[str] = mapped_column(String(11), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _ts()


class Transition(Base):
    __tablename__ = "transitions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    workflow_id: Mapped[str] = mapped_column(String(100), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    # As the person who started it named the patient (store.patients), never rewritten.
    patient_name: Mapped[str] = mapped_column(String(200))
    municipality_number: Mapped[str] = mapped_column(ForeignKey("municipalities.number"))
    origin_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    started_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    what_matters: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    expected_discharge_date: Mapped[date | None] = mapped_column(Date)
    ready_at: Mapped[datetime | None] = _ts()
    discharged_at: Mapped[datetime | None] = _ts()
    started_at: Mapped[datetime] = _ts()
    updated_at: Mapped[datetime] = _ts()
    revision: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_transitions_municipality_status", "municipality_number", "status"),
        Index("ix_transitions_patient_origin", "patient_id", "origin_unit_id"),
    )


class TaskRow(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    transition_id: Mapped[str] = mapped_column(ForeignKey("transitions.id"), index=True)
    workflow_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    owner_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(20))
    business_status: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = _ts()
    due_at: Mapped[datetime] = _ts()
    acknowledged_at: Mapped[datetime | None] = _ts()
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = _ts()
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = _ts()
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = _ts()

    __table_args__ = (Index("ix_tasks_owner_status_due", "owner_unit_id", "status", "due_at"),)


class EventRow(Base):
    __tablename__ = "events"

    transition_id: Mapped[str] = mapped_column(ForeignKey("transitions.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = _ts()
    kind: Mapped[str] = mapped_column(String(40), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class NotificationRow(Base):
    """A notification to one person on one channel; the key makes a retried send a no-op."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    channel: Mapped[str] = mapped_column(String(20))
    # Deferrable: a rebuild of the read model replaces transitions within one transaction.
    transition_id: Mapped[str] = mapped_column(
        ForeignKey("transitions.id", deferrable=True, initially="IMMEDIATE")
    )
    task_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _ts()
    sent_at: Mapped[datetime | None] = _ts()
    read_at: Mapped[datetime | None] = _ts()
    # Sends tried (more than one: the receiver may have it twice); failed: given up, and why.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_at: Mapped[datetime | None] = _ts()
    error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("key", name="uq_notifications_key"),
        Index(
            "ix_notifications_failed",
            "failed_at",
            "id",
            postgresql_where="failed_at IS NOT NULL AND sent_at IS NULL",
        ),
    )
