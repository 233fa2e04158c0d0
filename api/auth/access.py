"""Reading through the access model: the caller as a domain.access.Reader (a Scope), and
each transition's relations and parts for them (an Access).

Every read path asks here, and nowhere else, what a caller may read: lists narrow with
`Scope.visible()` (store.visibility, the model as SQL) and then decide per row with
`accesses`; one transition is opened with `open_transition`, which refuses (403, with the
patient recorded in the refusal's audit row) when the model gives no part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.policy import Forbidden
from domain import access as model
from domain.access import Part, Reader, Relation, TransitionFacts, UnitFacts
from domain.actors import Actor, Role
from store import access as facts
from store import emergency, transition_family
from store.tables import Transition
from store.visibility import step_visible_to, visible_to


@dataclass(frozen=True)
class Scope:
    """The caller, as the model sees them now, with the facts of the units they act for."""

    actor: Actor
    reader: Reader
    units: Mapping[str, UnitFacts] = field(default_factory=dict)  # those they act for
    led_unit_ids: frozenset[str] = frozenset()  # domain.access.overseen_units

    @property
    def is_leader(self) -> bool:
        return self.actor.has_role(Role.LEADER)

    @property
    def is_administrator(self) -> bool:
        return self.actor.has_role(Role.ADMINISTRATOR)

    @property
    def readable_unit_ids(self) -> frozenset[str]:
        """Units a list may be filtered by: those they act for and those they oversee."""
        return self.reader.acting_units | self.led_unit_ids

    @property
    def readable_municipalities(self) -> frozenset[str]:
        return self.reader.leads_municipalities

    def visible(self) -> ColumnElement[bool]:
        """The transitions where the caller has a relation (the model, as SQL)."""
        return visible_to(self.reader, self.units)

    def visible_steps(self) -> ColumnElement[bool]:
        """The steps (TaskRow joined to Transition) the caller sees (the model, as SQL)."""
        return step_visible_to(self.reader, self.units)


async def scope_for(session: AsyncSession, actor: Actor, at: datetime | None = None) -> Scope:
    reader = await facts.reader(session, actor.person_id, actor.roles, at or datetime.now(UTC))
    units = await facts.unit_facts(session, reader.acting_units)
    municipal = await facts.units_of_municipalities(session, reader.leads_municipalities)
    overseen = model.overseen_units(reader, municipal)
    return Scope(actor=actor, reader=reader, units=units, led_unit_ids=overseen)


@dataclass(frozen=True)
class Access:
    """What one caller may read of one transition."""

    transition: Transition
    facts: TransitionFacts
    relations: frozenset[Relation]
    parts: frozenset[Part]

    def shows(self, part: Part) -> bool:
        return part in self.parts

    @property
    def purpose(self) -> str:
        return model.purpose(self.relations)

    @property
    def read_ref(self) -> tuple[str, str]:
        """(patient id, transition id) for the audit log."""
        return self.transition.patient_id, self.transition.id


@dataclass(frozen=True)
class Accesses:
    """The accesses of a batch, and the unit facts they were decided on."""

    by_id: dict[str, Access]
    units: Mapping[str, UnitFacts]

    def get(self, transition_id: str) -> Access | None:
        return self.by_id.get(transition_id)

    def readable(self) -> list[Access]:
        return [a for a in self.by_id.values() if a.parts]


def _access(scope: Scope, row: Transition, t: TransitionFacts, units: model.Units) -> Access:
    found = model.relations(scope.reader, t, units)
    return Access(transition=row, facts=t, relations=found, parts=model.parts(found))


async def accesses(session: AsyncSession, scope: Scope, rows: Sequence[Transition]) -> Accesses:
    """The caller's access to each transition (three queries for the whole batch)."""
    batch = await facts.transition_facts(session, rows)
    units = {**batch.units, **scope.units}
    by_id = {row.id: _access(scope, row, batch.transitions[row.id], units) for row in rows}
    return Accesses(by_id=by_id, units=units)


def refuse(row: Transition, reason: str) -> Forbidden:
    return Forbidden(reason, patients=[(row.patient_id, row.id)])


NO_RELATION = (
    "you stand in no relation to this transition (care, consent, oversight or emergency "
    "access); a health worker may open it with emergency access, stating a reason"
)


def require(access: Access | None, row: Transition) -> Access:
    if access is None or not access.parts:
        raise refuse(row, NO_RELATION)
    return access


async def open_transition(session: AsyncSession, scope: Scope, row: Transition) -> Access:
    """The caller's access to one transition; refuses when the model gives no part."""
    found = await accesses(session, scope, [row])
    return require(found.get(row.id), row)


def parent_access(scope: Scope, access: Access, units: model.Units) -> frozenset[Relation]:
    """The caller's relations to a child handover's parent (empty for a discharge)."""
    parent = access.facts.parent
    return model.relations(scope.reader, parent, units) if parent else frozenset()


def own_units(scope: Scope) -> frozenset[str]:
    return scope.reader.acting_units


def shows_step(access: Access, owner_unit_id: str, own: frozenset[str]) -> bool:
    """Every step with ALL_STEPS; with OWN_STEPS only those the caller's units hold."""
    if access.shows(Part.ALL_STEPS):
        return True
    return access.shows(Part.OWN_STEPS) and owner_unit_id in own


async def visible_step_ids(
    session: AsyncSession, scope: Scope, found: Iterable[Access]
) -> set[str]:
    """The ids of the steps of these transitions that the caller sees."""
    by_id = {a.transition.id: a for a in found}
    tasks = await transition_family.tasks_of_many(session, list(by_id))
    own = own_units(scope)
    return {t.id for t in tasks if shows_step(by_id[t.transition_id], t.owner_unit_id, own)}


async def emergency_reason(session: AsyncSession, scope: Scope, access: Access) -> str | None:
    """The stated reason of the grant a read under emergency access relies on."""
    if Relation.EMERGENCY not in access.relations:
        return None
    reasons = await emergency.live_reasons(session, scope.actor.person_id, datetime.now(UTC))
    parent = access.facts.parent
    return reasons.get(access.transition.id) or (reasons.get(parent.id) if parent else None)


async def require_step(
    session: AsyncSession, actor: Actor, row: Transition, owner_unit_id: str
) -> Access:
    """A command on a step needs the model to show the actor that step: nobody acts on what
    they may not read (e.g. an office without the patient's consent, handed a step)."""
    scope = await scope_for(session, actor)
    access = await open_transition(session, scope, row)
    if not shows_step(access, owner_unit_id, own_units(scope)):
        raise refuse(row, "the access model does not show you this step")
    return access


async def require_relation(session: AsyncSession, actor: Actor, row: Transition) -> Access:
    """A command on a transition needs a relation to it (domain.access)."""
    return await open_transition(session, await scope_for(session, actor), row)


def readable_ids(found: Iterable[Access]) -> set[str]:
    return {a.transition.id for a in found if a.parts}
