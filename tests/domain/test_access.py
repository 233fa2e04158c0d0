"""Properties of the access model (domain.access) over random directories and transitions."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.access import (
    CONSENT_FOR_SECTOR,
    HEALTH_SHARING_CONSENT,
    NON_CLINICAL_NEEDS,
    PARTS_OF,
    Part,
    Reader,
    Relation,
    Sector,
    Step,
    TransitionFacts,
    UnitFacts,
    Units,
    follows_up,
    is_health_worker,
    may_open_in_emergency,
    parts,
    purpose,
    reads_access_log,
    relations,
    visible_needs,
)
from domain.actors import Role

TOWNS = ["3101", "3122", "3201"]
KINDS = ["dps", "tsb", "psykisk_helse_rus", "home_care", "nav_office", "housing_office", "odd"]
CONSENTS = [HEALTH_SHARING_CONSENT, *CONSENT_FOR_SECTOR.values()]
NEEDS = ["municipal_follow_up", "housing", "nav", "lar", "coordinator", "gp"]


UNIT_IDS = [f"u{n}" for n in range(8)]
# Strategies are built once: drawing is cheap, building a strategy per draw is not.
directories: st.SearchStrategy[Units] = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(TOWNS)), min_size=8, max_size=8
).map(
    lambda drawn: {
        uid: UnitFacts(id=uid, kind=kind, municipality_number=town)
        for uid, (kind, town) in zip(UNIT_IDS, drawn, strict=True)
    }
)
steps = st.lists(
    st.builds(Step, owner_unit_id=st.sampled_from(UNIT_IDS), rejected=st.booleans()), max_size=4
).map(tuple)


def _transition(
    transition_id: str, parent: st.SearchStrategy[Any]
) -> st.SearchStrategy[TransitionFacts]:
    return st.builds(
        TransitionFacts,
        id=st.just(transition_id),
        municipality_number=st.sampled_from(TOWNS),
        origin_unit_id=st.sampled_from(UNIT_IDS),
        steps=steps,
        consents=st.frozensets(st.sampled_from(CONSENTS)),
        parent=parent,
    )


discharges = _transition("discharge", st.none())
families = st.one_of(discharges, _transition("handover", discharges))  # a discharge, or a child
readers = st.builds(
    Reader,
    person_id=st.just("reader"),
    roles=st.frozensets(st.sampled_from(list(Role))),
    member_of=st.frozensets(st.sampled_from(UNIT_IDS), max_size=3),
    standing_in_for=st.frozensets(st.sampled_from(UNIT_IDS), max_size=2),
    leads_units=st.frozensets(st.sampled_from(UNIT_IDS), max_size=2),
    leads_municipalities=st.frozensets(st.sampled_from(TOWNS), max_size=1),
    emergency_grants=st.frozensets(st.sampled_from(["discharge", "handover"]), max_size=1),
)
worlds = st.tuples(directories, families, readers)


HOSPITAL_KINDS = {"dps", "tsb"}


def _led(reader: Reader, units: Units) -> set[str]:
    """Units the reader leads, and the non-hospital units of towns they lead."""
    towns = reader.leads_municipalities
    municipal = {
        u
        for u, f in units.items()
        if f.municipality_number in towns and f.kind not in HOSPITAL_KINDS
    }
    return set(reader.leads_units) | municipal


def _tied(reader: Reader, t: TransitionFacts, units: Units) -> bool:
    """Any fact tying the reader to the transition, stated from the brief rather than the
    model: a step their units hold and have not rejected, the origin, what they lead, a
    grant; or such a tie to the parent discharge."""
    held = {s.owner_unit_id for s in t.steps if not s.rejected}
    holders = {s.owner_unit_id for s in t.steps} | {t.origin_unit_id}
    ties = (
        reader.acting_units & (held | {t.origin_unit_id}),
        t.municipality_number in reader.leads_municipalities,
        holders & _led(reader, units),
        t.id in reader.emergency_grants,
    )
    inherited = t.parent is not None and _tied(reader, t.parent, units)
    return any(ties) or inherited


@settings(max_examples=200)
@given(worlds)
def test_nobody_outside_care_oversight_consent_or_emergency_receives_any_part(
    world: tuple[Units, TransitionFacts, Reader],
) -> None:
    units, t, reader = world
    if not _tied(reader, t, units):
        assert parts(relations(reader, t, units)) == frozenset()


@settings(max_examples=200)
@given(worlds)
def test_no_part_without_a_relation_and_each_relation_its_parts(
    world: tuple[Units, TransitionFacts, Reader],
) -> None:
    units, t, reader = world
    found = relations(reader, t, units)
    for relation in found:
        assert PARTS_OF[relation] <= parts(found)
    assert bool(parts(found)) == bool(found)


@settings(max_examples=200)
@given(worlds, st.data())
def test_a_substitutes_relations_are_within_their_own_and_the_absent_persons(
    world: tuple[Units, TransitionFacts, Reader], data: st.DataObject
) -> None:
    units, t, reader = world
    absent_units = data.draw(st.frozensets(st.sampled_from(UNIT_IDS), max_size=3))
    substitute = reader.model_copy(update={"standing_in_for": absent_units})
    own = reader.model_copy(update={"standing_in_for": frozenset()})
    absent = Reader(person_id="absent", member_of=absent_units)
    allowed = relations(own, t, units) | relations(absent, t, units)
    assert relations(substitute, t, units) <= allowed
    assert parts(relations(substitute, t, units)) <= parts(allowed)


OFFICE_KINDS = {"nav_office", "housing_office"}
masks = st.lists(st.booleans(), min_size=len(UNIT_IDS), max_size=len(UNIT_IDS))
offices = st.builds(
    UnitFacts,
    id=st.just("office"),
    kind=st.sampled_from(sorted(OFFICE_KINDS)),
    municipality_number=st.sampled_from(TOWNS),
)
A_DPS = UnitFacts(id="dps", kind="dps", municipality_number=TOWNS[0])


@st.composite
def handovers_to_an_office(draw: st.DrawFn) -> tuple[Units, TransitionFacts, Reader]:
    """A discharge whose steps are health units' (as the workflow opens them), and its NAV or
    housing handover; the reader belongs to NAV or housing offices only."""
    units = {**draw(directories), "office": draw(offices), "dps": A_DPS}
    health = {u for u, f in units.items() if f.kind not in OFFICE_KINDS}
    drawn = draw(discharges)
    parent = drawn.model_copy(
        update={
            "origin_unit_id": "dps",
            "steps": tuple(s for s in drawn.steps if s.owner_unit_id in health),
        }
    )
    child = TransitionFacts(
        id="handover",
        municipality_number=draw(st.sampled_from(TOWNS)),
        origin_unit_id="dps",
        steps=(Step(owner_unit_id="office"),),
        consents=parent.consents,
        parent=parent,
    )
    also = {
        u
        for u, on in zip(UNIT_IDS, draw(masks), strict=True)
        if on and units[u].kind in OFFICE_KINDS
    }
    reader = Reader(
        person_id="office-contact",
        roles=frozenset({Role.MUNICIPAL_CONTACT}),
        member_of=frozenset({"office", *also}),
    )
    return units, child, reader


@settings(max_examples=200)
@given(handovers_to_an_office(), st.dictionaries(st.sampled_from(NEEDS), st.booleans()))
def test_nav_and_housing_never_get_more_than_the_consent_projection(
    case: tuple[Units, TransitionFacts, Reader], needs: dict[str, bool]
) -> None:
    units, child, reader = case
    assert child.parent is not None
    assert relations(reader, child.parent, units) == frozenset(), "never the parent discharge"
    shown = parts(relations(reader, child, units))
    assert shown <= PARTS_OF[Relation.CONSENT]
    # The brief's words, not the model's table: never the patient's own words, clinical
    # content (LAR, notes, free text), other steps or the family.
    assert not shown & {Part.VOICE, Part.CLINICAL, Part.ALL_STEPS, Part.FAMILY}
    assert set(visible_needs(needs, shown)) <= NON_CLINICAL_NEEDS
    consent = {"nav_office": "share_with_nav", "housing_office": "share_with_housing_office"}
    if consent[units["office"].kind] not in child.consents:
        assert shown == frozenset(), "without the patient's consent, nothing"


hospitals = st.sampled_from(["dps", "tsb"])


@st.composite
def hospitals_in_a_town(draw: st.DrawFn) -> tuple[Units, TransitionFacts, Reader]:
    """A municipal leader of a town whose hospital unit started (and hospital units hold) a
    transition to another town; no municipal unit of the leader's town is involved."""
    town = draw(st.sampled_from(TOWNS))
    here = UnitFacts(id="dps-here", kind=draw(hospitals), municipality_number=town)
    units = {**draw(directories), "dps-here": here}
    outside = {
        u for u, f in units.items() if f.municipality_number != town or f.kind in HOSPITAL_KINDS
    }
    drawn = draw(discharges)
    t = drawn.model_copy(
        update={
            "municipality_number": draw(st.sampled_from([n for n in TOWNS if n != town])),
            "origin_unit_id": "dps-here",
            "steps": tuple(s for s in drawn.steps if s.owner_unit_id in outside),
        }
    )
    return units, t, Reader(person_id="chief", leads_municipalities=frozenset({town}))


@settings(max_examples=200)
@given(hospitals_in_a_town())
def test_a_hospital_unit_never_brings_a_transition_under_its_towns_leader(
    case: tuple[Units, TransitionFacts, Reader],
) -> None:
    units, t, chief = case
    assert Relation.OVERSIGHT not in relations(chief, t, units)
    assert relations(chief, t, units) == frozenset()


# --- the rules added with the API: purpose, emergency access, access log, follow-up ------


def test_emergency_outranks_consent_and_oversight_as_the_logged_purpose() -> None:
    assert purpose({Relation.OVERSIGHT, Relation.EMERGENCY}) == "emergency"
    assert purpose({Relation.CONSENT, Relation.EMERGENCY}) == "emergency"
    assert purpose({Relation.CARE, Relation.EMERGENCY}) == "care"
    assert purpose({Relation.OVERSIGHT, Relation.CONSENT}) == "consent"
    assert purpose(set()) == "none"


UNITS: Units = {
    "dps": UnitFacts(id="dps", kind="dps", municipality_number="3101"),
    "prt": UnitFacts(id="prt", kind="psykisk_helse_rus", municipality_number="3101"),
    "nav": UnitFacts(id="nav", kind="nav_office", municipality_number="3101"),
    "prt-b": UnitFacts(id="prt-b", kind="psykisk_helse_rus", municipality_number="3201"),
}
DISCHARGE = TransitionFacts(
    id="t", municipality_number="3101", origin_unit_id="dps", steps=(Step(owner_unit_id="prt"),)
)


def test_only_a_health_worker_outside_care_may_open_a_transition_in_an_emergency() -> None:
    def person(role: Role, unit: str) -> Reader:
        return Reader(person_id="p", roles=frozenset({role}), member_of=frozenset({unit}))

    outside = person(Role.MUNICIPAL_CONTACT, "prt-b")
    assert is_health_worker(outside, UNITS)
    assert may_open_in_emergency(outside, DISCHARGE, UNITS) is None
    assert "health" in str(
        may_open_in_emergency(person(Role.MUNICIPAL_CONTACT, "nav"), DISCHARGE, UNITS)
    )
    assert "health" in str(may_open_in_emergency(person(Role.LEADER, "prt-b"), DISCHARGE, UNITS))
    assert "care" in str(
        may_open_in_emergency(person(Role.MUNICIPAL_CONTACT, "prt"), DISCHARGE, UNITS)
    )


def test_who_reads_an_access_log_and_who_follows_up_emergency_access() -> None:
    assert reads_access_log({Relation.CARE}) and reads_access_log({Relation.OVERSIGHT})
    assert reads_access_log({Relation.EMERGENCY})
    assert not reads_access_log({Relation.CONSENT}) and not reads_access_log(set())
    chief = Reader(person_id="chief", leads_municipalities=frozenset({"3201"}))
    assert follows_up(chief, frozenset({"prt-b"}), "dps", UNITS)
    assert not follows_up(chief, frozenset({"nav"}), "dps", UNITS)
    dps_chief = Reader(person_id="dps-chief", leads_units=frozenset({"dps"}))
    assert follows_up(dps_chief, frozenset({"prt-b"}), "dps", UNITS)
    halden_chief = Reader(person_id="halden", leads_municipalities=frozenset({"3101"}))
    assert not follows_up(halden_chief, frozenset({"prt-b"}), "dps", UNITS), "DPS is no town's"


def test_the_model_gives_parts_by_relation() -> None:
    nav = Reader(person_id="n", member_of=frozenset({"nav"}))
    with_nav = DISCHARGE.model_copy(
        update={"steps": (Step(owner_unit_id="nav"),), "consents": frozenset({"share_with_nav"})}
    )
    assert relations(nav, with_nav, UNITS) == {Relation.CONSENT}
    assert Part.VOICE not in parts({Relation.CONSENT})
    assert Sector.NAV is UNITS["nav"].sector
