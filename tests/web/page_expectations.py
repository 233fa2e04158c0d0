"""What a reader's pages must show of the access world's transitions (tests/access_world.py),
derived from domain.access for that reader and transition: never typed by hand.

The model's inputs are built from the directory rows and the read model (access_world.facts),
with the emergency grants read from their table, so a grant opened on a page in one test is
known to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from domain.access import (
    Part,
    Reader,
    Relation,
    TransitionFacts,
    parts,
    purpose,
    relations,
    visible_needs,
)
from domain.tasks import OPEN_STATUSES
from store.database import Database
from store.emergency import EmergencyGrantRow
from store.tables import EventRow, Patient, TaskRow

from access_world import Facts, World, facts

OPEN = {s.value for s in OPEN_STATUSES}


async def _live_grants(db: Database) -> dict[str, frozenset[str]]:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        rows = await session.execute(
            select(EmergencyGrantRow.person_id, EmergencyGrantRow.transition_id).where(
                EmergencyGrantRow.granted_at <= now, EmergencyGrantRow.expires_at > now
            )
        )
        grants: dict[str, set[str]] = {}
        for person, transition in rows:
            grants.setdefault(person, set()).add(transition)
    return {person: frozenset(ids) for person, ids in grants.items()}


async def _patient_names(db: Database, m: Facts) -> dict[str, str]:
    ids = {row.patient_id for row in m.rows.values()}
    async with db.transaction() as session:
        rows = await session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(ids)))
        return {patient_id: name for patient_id, name in rows}


@dataclass(frozen=True)
class Model:
    """The world's facts now, and the model's answers over them."""

    w: World
    m: Facts
    patient_names: dict[str, str]

    def reader(self, persona: str) -> Reader:
        return self.m.readers[persona]

    def id(self, label: str) -> str:
        return self.w.transitions[label]

    def facts(self, label: str) -> TransitionFacts:
        return self.m.transitions[self.id(label)]

    def relations(self, persona: str, label: str) -> frozenset[Relation]:
        return relations(self.reader(persona), self.facts(label), self.m.units)

    def parts(self, persona: str, label: str) -> frozenset[Part]:
        return parts(self.relations(persona, label))

    def purpose(self, persona: str, label: str) -> str:
        return purpose(self.relations(persona, label))

    def shows_step(self, persona: str, label: str, step: TaskRow) -> bool:
        shown = self.parts(persona, label)
        if Part.ALL_STEPS in shown:
            return True
        return Part.OWN_STEPS in shown and step.owner_unit_id in self.reader(persona).acting_units

    def steps(self, persona: str, label: str) -> set[str]:
        steps = self.m.steps[self.id(label)]
        return {s.id for s in steps if self.shows_step(persona, label, s)}

    def children(self, label: str) -> list[str]:
        """Labels of the transition's child handovers in this world."""
        parent = self.id(label)
        return [
            child
            for child, t in self.w.transitions.items()
            if (f := self.m.transitions[t].parent) is not None and f.id == parent
        ]

    def family_steps(self, persona: str, label: str) -> set[str]:
        """The steps a transition page lists: its own, its children's with the family part."""
        found = self.steps(persona, label)
        if Part.FAMILY in self.parts(persona, label):
            for child in self.children(label):
                found |= self.steps(persona, child)
        return found

    def events(self, persona: str, label: str, events: dict[str, list[EventRow]]) -> set[str]:
        """`transition id:seq` of the timeline entries the page shows, given these events."""
        labels = [label]
        if Part.FAMILY in self.parts(persona, label):
            labels += [c for c in self.children(label) if self.parts(persona, c)]
        return {key for one in labels for key in self._events(persona, one, events)}

    def _events(self, persona: str, label: str, events: dict[str, list[EventRow]]) -> set[str]:
        t = self.id(label)
        everything = Part.ALL_STEPS in self.parts(persona, label)
        steps = self.steps(persona, label)
        return {
            f"{e.transition_id}:{e.seq}"
            for e in events.get(t, [])
            if everything or (e.task_id is not None and e.task_id in steps)
        }

    def needs(self, persona: str, label: str) -> dict[str, bool]:
        details = self.m.rows[self.id(label)].details or {}
        return visible_needs(details.get("needs") or {}, self.parts(persona, label))

    def patient_name(self, label: str) -> str:
        return self.patient_names[self.m.rows[self.id(label)].patient_id]

    def what_matters(self, label: str) -> str:
        return self.m.rows[self.id(label)].what_matters

    def inbox(self, persona: str) -> set[str]:
        """The open steps of the reader's units that the model shows them."""
        reader = self.reader(persona)
        return {
            s.id
            for label, t in self.w.transitions.items()
            for s in self.m.steps[t]
            if s.status in OPEN
            and s.owner_unit_id in reader.acting_units
            and self.shows_step(persona, label, s)
        }

    def label_of_step(self, step_id: str) -> str:
        return next(
            label
            for label, t in self.w.transitions.items()
            if any(s.id == step_id for s in self.m.steps[t])
        )


async def model_now(db: Database, w: World) -> Model:
    """The model's inputs as the world is now (emergency grants included)."""
    m = await facts(db, w)
    grants = await _live_grants(db)
    readers = {
        persona: r.model_copy(update={"emergency_grants": grants.get(r.person_id, frozenset())})
        for persona, r in m.readers.items()
    }
    m = Facts(
        readers=readers,
        transitions=m.transitions,
        units=m.units,
        rows=m.rows,
        steps=m.steps,
        events=m.events,
    )
    return Model(w=w, m=m, patient_names=await _patient_names(db, m))
