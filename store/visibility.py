"""The access model (domain.access) as an SQL predicate over transitions, for lists.

`visible_to(reader, units)` selects exactly the transitions where domain.access.relations
gives the reader at least one relation: care, consent, oversight or emergency, a child
handover inheriting care, oversight and emergency from its parent. It only narrows a list;
what each row shows is decided per row in Python by domain.access.parts. Handovers are
children of discharges, which have no parent: the predicate follows one level of parent.

`units` must hold the UnitFacts of the reader's acting units (their sector decides between
care, consent and nothing); units a municipal leader oversees are found in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, select
from sqlalchemy.orm import aliased

from domain.access import (
    CONSENT_FOR_SECTOR,
    HEALTH_SHARING_CONSENT,
    SECTOR_OF_KIND,
    Reader,
    Sector,
    Units,
)
from store.access import DEFAULT_CONSENTS
from store.tables import TaskRow, Transition, Unit

HOSPITAL_KINDS = sorted(
    kind for kind, sector in SECTOR_OF_KIND.items() if sector is Sector.SPECIALIST
)
REJECTED = "rejected"


def _consent(t: Any, name: str) -> ColumnElement[bool]:
    """Whether the patient gave this consent, the default when none is recorded."""
    given = t.details[("consents", name)].as_boolean()
    return func.coalesce(given, literal(DEFAULT_CONSENTS.get(name, False)))


def _acting(reader: Reader, units: Units, sector: Sector) -> list[str]:
    return sorted(u for u in reader.acting_units if (f := units.get(u)) and f.sector is sector)


def _holds(t: Any, unit_ids: Iterable[str]) -> ColumnElement[bool]:
    """A step of `t` held by one of these units, which has not rejected it."""
    step = aliased(TaskRow)
    held = (step.owner_unit_id.in_(sorted(set(unit_ids))), step.status != REJECTED)
    return select(step.id).where(step.transition_id == t.id, *held).correlate(t).exists()


def _care(t: Any, reader: Reader, units: Units) -> ColumnElement[bool]:
    """domain.access.in_care through a step or the origin unit."""
    specialist = _acting(reader, units, Sector.SPECIALIST)
    community = _acting(reader, units, Sector.COMMUNITY_HEALTH)
    shares = _consent(t, HEALTH_SHARING_CONSENT)
    return or_(
        _holds(t, specialist),
        and_(shares, _holds(t, community)),
        t.origin_unit_id.in_(specialist),
        and_(shares, t.origin_unit_id.in_(community)),
    )


def _consent_relation(t: Any, reader: Reader, units: Units) -> ColumnElement[bool]:
    """domain.access.reads_under_consent through a step."""
    community = _acting(reader, units, Sector.COMMUNITY_HEALTH)
    conditions = [and_(~_consent(t, HEALTH_SHARING_CONSENT), _holds(t, community))]
    for sector, consent in CONSENT_FOR_SECTOR.items():
        held = _holds(t, _acting(reader, units, sector))
        conditions.append(and_(_consent(t, consent), held))
    return or_(*conditions)


def _overseen_step(t: Any, reader: Reader) -> ColumnElement[bool]:
    """A step (rejected ones too) held by a unit the leader oversees: one they lead, or a
    non-hospital unit of a municipality they lead (domain.access.overseen_units)."""
    step, unit = aliased(TaskRow), aliased(Unit)  # aliases: never correlated to the outer query
    municipal = select(unit.id).where(
        unit.municipality_number.in_(sorted(reader.leads_municipalities)),
        unit.kind.not_in(HOSPITAL_KINDS),
    )
    overseen = or_(
        step.owner_unit_id.in_(sorted(reader.leads_units)), step.owner_unit_id.in_(municipal)
    )
    return select(step.id).where(step.transition_id == t.id, overseen).correlate(t).exists()


def _oversight(t: Any, reader: Reader) -> ColumnElement[bool]:
    return or_(
        t.municipality_number.in_(sorted(reader.leads_municipalities)),
        t.origin_unit_id.in_(sorted(reader.leads_units)),
        _overseen_step(t, reader),
    )


def _emergency(t: Any, reader: Reader) -> ColumnElement[bool]:
    return t.id.in_(sorted(reader.emergency_grants))


def _inherited_by_children(t: Any, reader: Reader, units: Units) -> ColumnElement[bool]:
    """Care, oversight and emergency on the parent discharge (never consent)."""
    parent = aliased(Transition)
    inheritable = or_(
        _care(parent, reader, units), _oversight(parent, reader), _emergency(parent, reader)
    )
    return (
        select(parent.id)
        .where(parent.id == t.details["parent_transition_id"].as_string(), inheritable)
        .correlate(t)
        .exists()
    )


def sees_all_steps(reader: Reader, units: Units) -> ColumnElement[bool]:
    """Transitions whose every step the reader sees: care, oversight, emergency (own or
    inherited); consent alone shows only the reader's own steps."""
    t = Transition
    return or_(
        _care(t, reader, units),
        _oversight(t, reader),
        _emergency(t, reader),
        _inherited_by_children(t, reader, units),
    )


def step_visible_to(reader: Reader, units: Units) -> ColumnElement[bool]:
    """Steps (TaskRow, joined to its Transition) the reader sees: all steps of a transition
    they see whole, and their own units' steps of one they read under consent."""
    own = TaskRow.owner_unit_id.in_(sorted(reader.acting_units))
    return or_(sees_all_steps(reader, units), and_(own, visible_to(reader, units)))


def visible_to(reader: Reader, units: Units) -> ColumnElement[bool]:
    """Transitions where the reader stands in at least one relation (see the module)."""
    facts = (reader.acting_units, reader.leads_units, reader.leads_municipalities)
    if not any(facts) and not reader.emergency_grants:
        return false()  # an administrator, or someone of no unit: no relation to anyone
    t = Transition
    return or_(
        _care(t, reader, units),
        _consent_relation(t, reader, units),
        _oversight(t, reader),
        _emergency(t, reader),
        _inherited_by_children(t, reader, units),
    )
