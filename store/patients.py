"""Patients: the one table holding fødselsnummer and name, keyed by an internal id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import Patient


async def upsert_patient(session: AsyncSession, *, fodselsnummer: str, name: str) -> str:
    """The patient's internal id, creating the patient if new (the name is kept current)."""
    statement = insert(Patient).values(
        id=str(uuid.uuid4()), fodselsnummer=fodselsnummer, name=name, created_at=datetime.now(UTC)
    )
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Patient.fodselsnummer], set_={"name": statement.excluded.name}
        ).returning(Patient.id)
    )
    return str(result.scalar_one())
