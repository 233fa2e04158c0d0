"""The lists' SQL predicates against the model: over randomly drawn transitions (steps,
rejected steps, consents, child handovers) and readers (members, substitutes, leaders,
emergency grants), store.visibility.visible_to selects exactly the transitions where
domain.access.relations, on the facts store.access loads, gives at least one relation, and
step_visible_to exactly the steps the parts show (all steps, or the reader's own)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from domain.access import Part, Reader, parts, relations
from foundation.settings import Settings
from store import access
from store.database import Database
from store.tables import Patient, TaskRow, Transition, Unit
from store.visibility import step_visible_to, visible_to

from factories import DirectoryFactory, make_fodselsnummer

KINDS = ["dps", "tsb", "psykisk_helse_rus", "home_care", "nav_office", "housing_office", "odd"]
CONSENTS = [
    "share_with_municipal_health_service",
    "share_with_nav",
    "share_with_housing_office",
]
TRANSITIONS = 40
READERS = 60


async def _units(db: Database, numbers: list[str], slug: str) -> list[Unit]:
    """One unit of every kind in each municipality: the DPS and TSB are located there too."""
    units = [
        Unit(id=f"{slug}-{n}-{kind}", name=kind, kind=kind, municipality_number=n, hours={})
        for n in numbers
        for kind in KINDS
    ]
    async with db.transaction() as session:
        session.add_all(units)
    return units


def _details(rng: random.Random, parent: str | None) -> dict[str, object]:
    details: dict[str, object] = {}
    if rng.random() < 0.8:  # some transitions record no consents: the defaults apply
        details["consents"] = {c: rng.random() < 0.5 for c in rng.sample(CONSENTS, 2)}
    if parent:
        details["parent_transition_id"] = parent
    return details


def _transition(
    rng: random.Random, units: list[Unit], numbers: list[str], patient: str, parent: str | None
) -> Transition:
    now = datetime.now(UTC)
    transition_id = str(uuid.uuid4())
    return Transition(
        id=transition_id,
        kind="handover" if parent else "discharge",
        workflow_id=f"visibility-{transition_id}",
        patient_id=patient,
        patient_name="Test Testesen",
        municipality_number=rng.choice(numbers),
        origin_unit_id=rng.choice(units).id,
        started_by="test",
        status="active",
        what_matters="",
        details=_details(rng, parent),
        started_at=now,
        updated_at=now,
    )


def _steps(rng: random.Random, transition: Transition, units: list[Unit]) -> list[TaskRow]:
    now = datetime.now(UTC)
    return [
        TaskRow(
            id=str(uuid.uuid4()),
            transition_id=transition.id,
            workflow_id=transition.workflow_id,
            kind="handover",
            owner_unit_id=rng.choice(units).id,
            status=rng.choice(["requested", "accepted", "rejected", "completed"]),
            created_at=now,
            due_at=now + timedelta(days=1),
            policy_id="test",
            policy_version=1,
            updated_at=now,
        )
        for _ in range(rng.randrange(0, 4))
    ]


async def _world(db: Database, rng: random.Random, numbers: list[str], slug: str) -> list[str]:
    units = await _units(db, numbers, slug)
    patient = Patient(
        id=str(uuid.uuid4()),
        fodselsnummer=make_fodselsnummer(),
        name="P",
        created_at=datetime.now(UTC),
    )
    transitions: list[Transition] = []
    for _ in range(TRANSITIONS):
        discharges = [t.id for t in transitions if "parent_transition_id" not in t.details]
        parent = rng.choice(discharges) if discharges and rng.random() < 0.4 else None
        transitions.append(_transition(rng, units, numbers, patient.id, parent))
    async with db.transaction() as session:
        session.add(patient)
        await session.flush()
        session.add_all(transitions)
        await session.flush()
        session.add_all([s for t in transitions for s in _steps(rng, t, units)])
    return [t.id for t in transitions]


def _reader(rng: random.Random, unit_ids: list[str], numbers: list[str], ids: list[str]) -> Reader:
    def some(pool: list[str], p: float) -> frozenset[str]:
        return frozenset(x for x in pool if rng.random() < p)

    return Reader(
        person_id="reader",
        member_of=some(unit_ids, 0.1),
        standing_in_for=some(unit_ids, 0.05),
        leads_units=some(unit_ids, 0.05),
        leads_municipalities=some(numbers, 0.2),
        emergency_grants=some(ids, 0.03),
    )


def _shown_steps(reader: Reader, steps: list[TaskRow], shown: frozenset[Part]) -> set[str]:
    if Part.ALL_STEPS in shown:
        return {s.id for s in steps}
    own = Part.OWN_STEPS in shown
    return {s.id for s in steps if own and s.owner_unit_id in reader.acting_units}


def _expected_steps(
    reader: Reader, batch: access.FactsBatch, units: Any, ids: list[str], steps: list[TaskRow]
) -> set[str]:
    shown: set[str] = set()
    for i in ids:
        found = parts(relations(reader, batch.transitions[i], units))
        shown |= _shown_steps(reader, [s for s in steps if s.transition_id == i], found)
    return shown


async def _selected_steps(session: Any, reader: Reader, acting: Any, ids: list[str]) -> set[str]:
    query = (
        select(TaskRow.id)
        .join(Transition, Transition.id == TaskRow.transition_id)
        .where(Transition.id.in_(ids), step_visible_to(reader, acting))
    )
    return set(await session.scalars(query))


@pytest.mark.timeout(300)  # 120 queries; slow only on a loaded machine
async def test_the_list_predicate_selects_exactly_the_transitions_the_model_relates(
    db: Database, settings: Settings
) -> None:
    rng = random.Random(9)
    home, other = DirectoryFactory(db, settings), DirectoryFactory(db, settings)
    await home.create()
    await other.create()
    numbers = [home.number, other.number]
    ids = await _world(db, rng, numbers, home.slug)
    async with db.transaction() as session:
        rows = list(await session.scalars(select(Transition).where(Transition.id.in_(ids))))
        batch = await access.transition_facts(session, rows)
        all_units = await access.units_of_municipalities(session, numbers)
        unit_ids = sorted(all_units)
        all_steps = list(
            await session.scalars(select(TaskRow).where(TaskRow.transition_id.in_(ids)))
        )
        checked = related = 0
        for _ in range(READERS):
            reader = _reader(rng, unit_ids, numbers, ids)
            acting = {u: all_units[u] for u in reader.acting_units}
            selected = set(
                await session.scalars(
                    select(Transition.id).where(Transition.id.in_(ids), visible_to(reader, acting))
                )
            )
            expected = {i for i in ids if relations(reader, batch.transitions[i], all_units)}
            assert selected == expected, (reader, selected ^ expected)
            steps = await _selected_steps(session, reader, acting, ids)
            assert steps == _expected_steps(reader, batch, all_units, ids, all_steps), reader
            checked += len(ids)
            related += len(expected)
    assert checked == TRANSITIONS * READERS
    assert 0 < related < checked, "the draw covers both sides of the predicate"
