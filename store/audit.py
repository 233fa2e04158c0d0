"""The audit log: an append-only, hash-chained record of every command and every read of
patient data (Normen fact sheet 15, pasientjournalloven § 22).

Each row carries the hash of the row before it, so editing or deleting a row breaks the
chain at that point; `overgang audit verify` walks it. Appends are serialised by a
transaction-level advisory lock, so two requests never chain onto the same row (no forks),
and ids are assigned under that lock, so they have no gaps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import BigInteger, DateTime, Index, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key: any fixed 64-bit number, released at commit or rollback.
APPEND_LOCK_KEY = 0x0A0D17_0C4A1
VERIFY_BATCH = 1000


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(120))
    resource: Mapped[str | None] = mapped_column(String(300))
    patient_id: Mapped[str | None] = mapped_column(String(36))
    transition_id: Mapped[str | None] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "at"),
        Index("ix_audit_log_transition_at", "transition_id", "at"),
    )


class AuditEntry(BaseModel, frozen=True):
    """What one audited act says: who, what, which patient, why, and how it ended."""

    actor_id: str | None
    action: str
    resource: str | None = None
    patient_id: str | None = None
    transition_id: str | None = None
    purpose: str = "care"
    outcome: str = "ok"
    reason: str | None = None


def canonical(row_id: int, at: datetime, entry: AuditEntry) -> str:
    """The row's content as one stable string: sorted keys, UTC time, no whitespace."""
    content = {"id": row_id, "at": at.astimezone(UTC).isoformat(), **entry.model_dump()}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, row_id: int, at: datetime, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + canonical(row_id, at, entry)).encode()).hexdigest()


async def append(session: AsyncSession, entry: AuditEntry) -> AuditRow:
    """Add a row in the caller's transaction: it commits with the effect or not at all."""
    [row] = await append_many(session, [entry])
    return row


async def append_many(session: AsyncSession, entries: Sequence[AuditEntry]) -> list[AuditRow]:
    if not entries:
        return []
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    last = (
        await session.execute(
            select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)
        )
    ).first()
    row_id, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    at = datetime.now(UTC)
    rows = []
    for entry in entries:
        row_id += 1
        digest = chain_hash(prev_hash, row_id, at, entry)
        rows.append(
            AuditRow(id=row_id, at=at, **entry.model_dump(), prev_hash=prev_hash, hash=digest)
        )
        prev_hash = digest
    session.add_all(rows)
    await session.flush()
    return rows


def entry_of(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        actor_id=row.actor_id,
        action=row.action,
        resource=row.resource,
        patient_id=row.patient_id,
        transition_id=row.transition_id,
        purpose=row.purpose,
        outcome=row.outcome,
        reason=row.reason,
    )


@dataclass(frozen=True)
class ChainBreak:
    row_id: int
    problem: str


async def _rows(session: AsyncSession) -> AsyncIterator[AuditRow]:
    after = 0
    while True:
        batch = list(
            await session.scalars(
                select(AuditRow)
                .where(AuditRow.id > after)
                .order_by(AuditRow.id)
                .limit(VERIFY_BATCH)
            )
        )
        for row in batch:
            yield row
        if len(batch) < VERIFY_BATCH:
            return
        after = batch[-1].id


def check_row(row: AuditRow, expected_id: int, prev_hash: str) -> str | None:
    """Why this row breaks the chain, or None if it links and its content is intact."""
    if row.id != expected_id:
        return f"rows {expected_id}..{row.id - 1} are missing (deleted)"
    if row.prev_hash != prev_hash:
        return "its prev_hash does not match the row before it (a row before it was changed)"
    if row.hash != chain_hash(row.prev_hash, row.id, row.at, entry_of(row)):
        return "its content does not match its hash (the row was edited)"
    return None


@dataclass(frozen=True)
class Verification:
    checked: int
    broken: ChainBreak | None
    head_hash: str  # the last intact row's hash: record it elsewhere to detect truncation


async def verify(session: AsyncSession) -> tuple[int, ChainBreak | None]:
    """Walk the chain from the first row; returns rows checked and the first break."""
    result = await verify_chain(session)
    return result.checked, result.broken


async def verify_chain(session: AsyncSession) -> Verification:
    prev_hash, expected_id, checked = GENESIS_HASH, 1, 0
    async for row in _rows(session):
        problem = check_row(row, expected_id, prev_hash)
        if problem:
            return Verification(checked, ChainBreak(row.id, problem), prev_hash)
        prev_hash, expected_id, checked = row.hash, row.id + 1, checked + 1
    return Verification(checked, None, prev_hash)


async def patient_reads(
    session: AsyncSession, patient_id: str, *, limit: int = 500
) -> Sequence[AuditRow]:
    """Who touched this patient's data, newest first: the patient's access log."""
    rows = await session.scalars(
        select(AuditRow)
        .where(AuditRow.patient_id == patient_id)
        .order_by(AuditRow.id.desc())
        .limit(limit)
    )
    return list(rows)


async def recent(
    session: AsyncSession,
    *,
    before_id: int | None = None,
    actor_id: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
) -> Sequence[AuditRow]:
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    if actor_id is not None:
        query = query.where(AuditRow.actor_id == actor_id)
    if outcome is not None:
        query = query.where(AuditRow.outcome == outcome)
    return list(await session.scalars(query))
