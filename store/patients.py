"""Patients: the one table holding fødselsnummer and name, keyed by an internal id; and, per
transition, the patient as the person who started it named them.

The fødselsnummer identifies the patient. A name given for a known number is recorded on the
new transition only (TransitionPatient, copied to Transition.patient_name when the workflow
registers it), so a discharge elsewhere never renames the patient in anyone else's inbox.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    String,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, Patient, Transition

DISCHARGE = "discharge"


class TransitionPatient(Base):
    """Written by the API before it starts a transition's workflow, keyed by the transition
    id the workflow will register: the name it gives the patient, and the episode facts the
    check for a second active discharge needs while the workflow is not yet registered."""

    __tablename__ = "transition_patients"

    transition_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    patient_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    origin_unit_id: Mapped[str] = mapped_column(String(64))
    new_episode: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_transition_patients_patient_origin", "patient_id", "origin_unit_id"),
    )


async def find_or_add(session: AsyncSession, *, fodselsnummer: str, name: str) -> str:
    """The patient's internal id, adding the patient if the number is new; the name a known
    patient has is never changed here (the transition carries the name it was given)."""
    statement = insert(Patient).values(
        id=str(uuid.uuid4()), fodselsnummer=fodselsnummer, name=name, created_at=datetime.now(UTC)
    )
    # A no-op update, so RETURNING gives the existing row's id too.
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Patient.fodselsnummer], set_={"fodselsnummer": Patient.fodselsnummer}
        ).returning(Patient.id)
    )
    return str(result.scalar_one())


async def record_start(
    session: AsyncSession,
    *,
    transition_id: str,
    patient_id: str,
    patient_name: str,
    kind: str,
    origin_unit_id: str,
    recorded_by: str,
    new_episode: bool = False,
) -> None:
    """Remember the name given for this transition; a retry of the same start changes nothing."""
    values = {
        "transition_id": transition_id,
        "patient_id": patient_id,
        "patient_name": patient_name,
        "kind": kind,
        "origin_unit_id": origin_unit_id,
        "new_episode": new_episode,
        "recorded_by": recorded_by,
        "recorded_at": datetime.now(UTC),
    }
    await session.execute(insert(TransitionPatient).values(**values).on_conflict_do_nothing())


async def names_elsewhere(session: AsyncSession, patient_id: str, transition_id: str) -> set[str]:
    """Every name this patient is known by outside this transition."""
    first = await session.scalars(select(Patient.name).where(Patient.id == patient_id))
    registered = await session.scalars(
        select(Transition.patient_name).where(
            Transition.patient_id == patient_id, Transition.id != transition_id
        )
    )
    starting = await session.scalars(
        select(TransitionPatient.patient_name).where(
            TransitionPatient.patient_id == patient_id,
            TransitionPatient.transition_id != transition_id,
        )
    )
    return {*first, *registered, *starting}


async def lock_episodes(session: AsyncSession, patient_id: str, origin_unit_id: str) -> None:
    """Serialise starts for one patient at one unit until the transaction ends, so two
    concurrent requests cannot both find no active discharge and both start one."""
    key = f"episode:{patient_id}:{origin_unit_id}"
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )


async def active_discharges(
    session: AsyncSession,
    *,
    patient_id: str,
    origin_unit_id: str,
    besides: str,
    starting_since: datetime,
) -> list[str]:
    """Discharges of this patient from this unit that are under way (not yet discharged,
    cancelled or completed), oldest first; and those started since `starting_since` whose
    workflow has not registered yet."""
    registered = await session.scalars(
        select(Transition.id)
        .where(
            Transition.patient_id == patient_id,
            Transition.origin_unit_id == origin_unit_id,
            Transition.kind == DISCHARGE,
            Transition.id != besides,
            Transition.status == "active",
            Transition.discharged_at.is_(None),
        )
        .order_by(Transition.started_at)
    )
    starting = await session.scalars(
        select(TransitionPatient.transition_id)
        .outerjoin(Transition, Transition.id == TransitionPatient.transition_id)
        .where(
            TransitionPatient.patient_id == patient_id,
            TransitionPatient.origin_unit_id == origin_unit_id,
            TransitionPatient.kind == DISCHARGE,
            TransitionPatient.transition_id != besides,
            TransitionPatient.recorded_at > starting_since,
            Transition.id.is_(None),
        )
        .order_by(TransitionPatient.recorded_at)
    )
    return [*registered, *starting]


def name_on_register(
    transition_id: str, patient_id: str, parent_id: str | None
) -> ColumnElement[str]:
    """The name a newly registered transition carries: the one its starter gave, else its
    parent discharge's (a housing or NAV handover), else the patient's first-known name."""
    given = select(TransitionPatient.patient_name).where(
        TransitionPatient.transition_id == transition_id
    )
    parents = select(Transition.patient_name).where(Transition.id == (parent_id or ""))
    known = select(Patient.name).where(Patient.id == patient_id)
    return func.coalesce(
        given.scalar_subquery(), parents.scalar_subquery(), known.scalar_subquery()
    )
