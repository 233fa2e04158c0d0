"""The facts the access model (domain.access) decides on, loaded with few queries: who a
reader is at a moment, and what a transition is (origin, receiving municipality, steps,
consents, parent), with the units involved.

A few queries make a Reader (substitutions through store.absences.acting_units); three make
the facts of any batch of transitions (their parents, the steps of both, and every unit
involved).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Reader, Step, TransitionFacts, UnitFacts
from domain.actors import Role
from domain.discharge import Consents
from domain.tasks import TaskStatus
from store import absences, emergency
from store.tables import Membership, Municipality, Person, TaskRow, Transition, Unit

# Consents a transition without any recorded (a LAR change, a portfolio handover) stands
# under: the defaults a patient has until they say otherwise (domain.discharge.Consents).
DEFAULT_CONSENTS: Mapping[str, bool] = Consents().model_dump()


def _facts_of_reader(person_id: str) -> Any:
    """One UNION query: (what, id) rows for memberships, led units and municipalities."""
    return union_all(
        select(literal("member"), Membership.unit_id).where(Membership.person_id == person_id),
        select(literal("leads_unit"), Unit.id).where(Unit.leader_id == person_id),
        select(literal("leads_municipality"), Municipality.number).where(
            Municipality.leader_id == person_id
        ),
    )


def roles_of(person: Person) -> frozenset[Role]:
    known = set(Role.__members__.values())
    return frozenset(Role(r) for r in person.roles if r in known)


async def reader(
    session: AsyncSession, person_id: str, roles: Iterable[Role], at: datetime
) -> Reader:
    """The person as the model sees them at `at` (substitutions and grants live then)."""
    found: dict[str, set[str]] = {}
    for what, value in await session.execute(_facts_of_reader(person_id)):
        found.setdefault(what, set()).add(value)
    grants = await emergency.live_reasons(session, person_id, at)
    # Substitution follows its own rule (domain.delegation), not a bare join on absences.
    acting = await absences.acting_units(session, person_id, at)
    return Reader(
        person_id=person_id,
        roles=frozenset(roles),
        member_of=frozenset(found.get("member", ())),
        standing_in_for=acting - frozenset(found.get("member", ())),
        leads_units=frozenset(found.get("leads_unit", ())),
        leads_municipalities=frozenset(found.get("leads_municipality", ())),
        emergency_grants=frozenset(grants),
    )


def unit_fact(row: Unit) -> UnitFacts:
    return UnitFacts(id=row.id, kind=row.kind, municipality_number=row.municipality_number)


async def unit_facts(session: AsyncSession, unit_ids: Iterable[str]) -> dict[str, UnitFacts]:
    wanted = sorted(set(unit_ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Unit).where(Unit.id.in_(wanted)))
    return {row.id: unit_fact(row) for row in rows}


async def units_of_municipalities(
    session: AsyncSession, numbers: Iterable[str]
) -> dict[str, UnitFacts]:
    """Every unit located in these municipalities (what a municipal leader may oversee)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    rows = await session.scalars(select(Unit).where(Unit.municipality_number.in_(wanted)))
    return {row.id: unit_fact(row) for row in rows}


def consents_of(details: Mapping[str, Any]) -> frozenset[str]:
    """The consents given, from details["consents"], the defaults filling what is missing."""
    given = {**DEFAULT_CONSENTS, **(details.get("consents") or {})}
    return frozenset(name for name, value in given.items() if value is True)


def parent_id_of(transition: Transition) -> str | None:
    parent = (transition.details or {}).get("parent_transition_id")
    return str(parent) if parent else None


@dataclass(frozen=True)
class StepRow:
    transition_id: str
    owner_unit_id: str
    status: str


def _facts(
    row: Transition, steps: Sequence[StepRow], parent: TransitionFacts | None
) -> TransitionFacts:
    return TransitionFacts(
        id=row.id,
        municipality_number=row.municipality_number,
        origin_unit_id=row.origin_unit_id,
        steps=tuple(
            Step(owner_unit_id=s.owner_unit_id, rejected=s.status == TaskStatus.REJECTED.value)
            for s in steps
        ),
        consents=consents_of(row.details or {}),
        parent=parent,
    )


async def _parents(session: AsyncSession, rows: Sequence[Transition]) -> dict[str, Transition]:
    known = {row.id: row for row in rows}
    missing = {p for row in rows if (p := parent_id_of(row)) and p not in known}
    if missing:
        found = await session.scalars(select(Transition).where(Transition.id.in_(missing)))
        known |= {row.id: row for row in found}
    return known


async def _steps(session: AsyncSession, transition_ids: Iterable[str]) -> dict[str, list[StepRow]]:
    rows = await session.execute(
        select(TaskRow.transition_id, TaskRow.owner_unit_id, TaskRow.status)
        .where(TaskRow.transition_id.in_(sorted(set(transition_ids))))
        .order_by(TaskRow.created_at, TaskRow.id)
    )
    steps: dict[str, list[StepRow]] = {}
    for transition_id, owner, status in rows:
        steps.setdefault(transition_id, []).append(StepRow(transition_id, owner, status))
    return steps


@dataclass(frozen=True)
class FactsBatch:
    """The facts of a batch of transitions, and of every unit they involve."""

    transitions: dict[str, TransitionFacts]
    units: dict[str, UnitFacts]


def _involved(facts: TransitionFacts) -> set[str]:
    units = {facts.origin_unit_id, *(s.owner_unit_id for s in facts.steps)}
    return units | (_involved(facts.parent) if facts.parent else set())


async def transition_facts(session: AsyncSession, rows: Sequence[Transition]) -> FactsBatch:
    """Facts of these transitions, each with its parent's facts for a child handover."""
    everything = await _parents(session, rows)
    steps = await _steps(session, everything)
    own = {row_id: _facts(row, steps.get(row_id, []), None) for row_id, row in everything.items()}
    facts = {}
    for row in rows:
        parent_id = parent_id_of(row)
        parent = own.get(parent_id) if parent_id else None
        facts[row.id] = own[row.id].model_copy(update={"parent": parent})
    units = await unit_facts(session, {u for f in facts.values() for u in _involved(f)})
    return FactsBatch(transitions=facts, units=units)
