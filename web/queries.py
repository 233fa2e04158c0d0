"""Read-model lookups the pages need beyond the API's service functions: names for ids,
the coordinator's own transitions, and the choices a form offers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.policy import DPS_UNIT_KINDS
from api.discharges.service import RECEIVING_UNIT_KIND
from domain.actors import Actor
from domain.delegation import consents_given, eligible_substitutes, forward_targets
from domain.tasks import OPEN_STATUSES, TaskKind
from store import absences, directory
from store.tables import Membership, Municipality, Person, TaskRow, Transition, Unit

OWN_TRANSITIONS_LIMIT = 100


async def unit_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(wanted)))
    return {key: name for key, name in rows}


async def person_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted)))
    return {key: name for key, name in rows}


async def municipalities(session: AsyncSession) -> list[Municipality]:
    return list(await session.scalars(select(Municipality).order_by(Municipality.name)))


async def origin_units(session: AsyncSession, actor: Actor) -> list[Unit]:
    """The DPS/TSB units the coordinator may start transitions from."""
    rows = await session.scalars(
        select(Unit)
        .where(Unit.id.in_(list(actor.unit_ids)), Unit.kind.in_(list(DPS_UNIT_KINDS)))
        .order_by(Unit.name)
    )
    return list(rows)


async def patient_name_of(session: AsyncSession, transition_id: str) -> str | None:
    """The patient's name as this transition's starter gave it (never another's)."""
    return await session.scalar(
        select(Transition.patient_name).where(Transition.id == transition_id)
    )


async def own_transitions(
    session: AsyncSession, actor: Actor
) -> list[tuple[Transition, str, list[TaskRow]]]:
    """Transitions the coordinator started or that left their units, newest first."""
    rows = await session.execute(
        select(Transition, Transition.patient_name)
        .where(
            or_(
                Transition.started_by == actor.person_id,
                Transition.origin_unit_id.in_(list(actor.unit_ids)),
            )
        )
        .order_by(Transition.started_at.desc())
        .limit(OWN_TRANSITIONS_LIMIT)
    )
    found = [(t, name) for t, name in rows]
    tasks = await session.scalars(
        select(TaskRow)
        .where(TaskRow.transition_id.in_([t.id for t, _ in found]))
        .order_by(TaskRow.created_at)
    )
    by_transition: dict[str, list[TaskRow]] = {}
    for task in tasks:
        by_transition.setdefault(task.transition_id, []).append(task)
    return [(t, name, by_transition.get(t.id, [])) for t, name in found]


@dataclass(frozen=True)
class ForwardChoice:
    id: str
    label: str


async def forward_units(
    session: AsyncSession, kind: str, owner_unit_id: str, transition: Transition
) -> list[ForwardChoice]:
    """The units a rejected step may be forwarded to (domain.delegation.forward_targets): the
    transition's municipality's first, then other municipalities' receiving units."""
    rows = await session.execute(
        select(Unit, Municipality.name)
        .outerjoin(Municipality, Municipality.number == Unit.municipality_number)
        .where(
            or_(
                Unit.municipality_number == transition.municipality_number,
                Unit.kind == RECEIVING_UNIT_KIND,
            )
        )
        .order_by(Unit.municipality_number != transition.municipality_number, Municipality.name)
        .order_by(Unit.name, Unit.id)
    )
    found = [(unit, municipality) for unit, municipality in rows]
    allowed = forward_targets(
        TaskKind(kind),
        [directory.facts_of(unit) for unit, _ in found],
        owner_unit_id=owner_unit_id,
        origin_unit_id=transition.origin_unit_id,
        consents=consents_given(transition.details.get("consents")),
    )
    ids = {unit.id for unit in allowed}
    return [_choice(unit, name, transition) for unit, name in found if unit.id in ids]


def _choice(unit: Unit, municipality: str | None, transition: Transition) -> ForwardChoice:
    if unit.municipality_number == transition.municipality_number or not municipality:
        return ForwardChoice(unit.id, unit.name)
    return ForwardChoice(unit.id, f"{unit.name}, {municipality}")


async def municipality_name(session: AsyncSession, number: str) -> str:
    municipality = await session.get(Municipality, number)
    return f"{municipality.name} ({number})" if municipality else number


async def inbox_fingerprint(session: AsyncSession, unit_ids: Iterable[str]) -> str:
    """Changes whenever an open task of the units appears, changes or closes; no patient data."""
    rows = await session.execute(
        select(TaskRow.id, TaskRow.revision)
        .where(
            TaskRow.owner_unit_id.in_(list(unit_ids)),
            TaskRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(TaskRow.id)
    )
    text = ";".join(f"{task_id}:{revision}" for task_id, revision in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def colleagues(session: AsyncSession, actor: Actor) -> list[Person]:
    """The people who may stand in for the actor: colleagues of their own units, never of
    the units they themselves stand in for now (domain.delegation.eligible_substitutes)."""
    own = (await absences.memberships_of(session, {actor.person_id})).get(actor.person_id)
    if not own:
        return []
    rows = await session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.unit_id.in_(list(own)))
        .distinct()
        .order_by(Person.name)
    )
    people = list(rows)
    members = await absences.memberships_of(session, {p.id for p in people})
    allowed = set(eligible_substitutes(actor.person_id, own, members))
    return [person for person in people if person.id in allowed]


async def municipal_units(session: AsyncSession) -> list[Unit]:
    """Units outside the specialist service (dispensing sites among them)."""
    rows = await session.scalars(
        select(Unit).where(Unit.kind.not_in(list(DPS_UNIT_KINDS))).order_by(Unit.name)
    )
    return list(rows)
