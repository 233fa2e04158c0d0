"""Who work may be handed to (substitutes, assignees, forward targets) and who a patient is:
the pure rules behind issue 9's checked commands."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from domain.access import SECTOR_OF_KIND, Sector, UnitFacts
from domain.delegation import (
    HANDOVER_KINDS,
    assignee_refusal,
    consents_given,
    eligible_substitutes,
    forward_refusal,
    forward_targets,
    substitute_refusal,
    units_stood_in_for,
)
from domain.identity import name_differs, second_episode_refusal
from domain.tasks import TaskKind

UNIT_IDS = st.sampled_from([f"u{i}" for i in range(6)])
MEMBERSHIPS = st.frozensets(UNIT_IDS, max_size=4)

ORIGIN = UnitFacts(id="dps-halden", kind="dps", municipality_number="3101")
INTAKE = UnitFacts(id="halden-prt", kind="psykisk_helse_rus", municipality_number="3101")
HOME_CARE = UnitFacts(id="halden-hjemmetjeneste", kind="home_care", municipality_number="3101")
NAV = UnitFacts(id="halden-nav", kind="nav_office", municipality_number="3101")
HOUSING = UnitFacts(id="halden-bolig", kind="housing_office", municipality_number="3101")
MARKER = UnitFacts(id="marker-prt", kind="psykisk_helse_rus", municipality_number="3122")
OTHER_DPS = UnitFacts(id="dps-baerum", kind="dps", municipality_number="3201")


def forward(
    kind: TaskKind, target: UnitFacts | None, consents: frozenset[str] = frozenset()
) -> str | None:
    return forward_refusal(
        kind, target, owner_unit_id=INTAKE.id, origin_unit_id=ORIGIN.id, consents=consents
    )


# --- substitutes ----------------------------------------------------------------------------


def test_a_substitute_must_already_act_for_one_of_the_absent_persons_units() -> None:
    assert substitute_refusal(frozenset({"halden-prt"}), frozenset({"halden-prt"})) is None
    assert substitute_refusal(frozenset({"halden-prt", "x"}), frozenset({"x"})) is None
    refusal = substitute_refusal(frozenset({"halden-prt"}), frozenset({"halden-nav"}))
    assert refusal is not None and "halden-prt" in refusal


def test_leadership_does_not_pass_by_substitution() -> None:
    refusal = substitute_refusal(frozenset(), frozenset({"halden-prt"}))
    assert refusal is not None and "leadership" in refusal


def test_eligible_substitutes_are_colleagues_never_oneself() -> None:
    candidates = {
        "kontakt": frozenset({"halden-prt"}),
        "vara": frozenset({"halden-prt"}),
        "nav-kontakt": frozenset({"halden-nav"}),
        "baerum-kontakt": frozenset({"baerum-prt"}),
    }
    assert eligible_substitutes("kontakt", frozenset({"halden-prt"}), candidates) == ["vara"]
    assert eligible_substitutes("leder", frozenset(), candidates) == []


UNIT_FACTS = st.dictionaries(
    UNIT_IDS,
    st.builds(
        lambda kind, number: (kind, number),
        st.sampled_from([*sorted(SECTOR_OF_KIND), "unknown"]),
        st.sampled_from(["3101", "3122"]),
    ),
).map(
    lambda drawn: {u: UnitFacts(id=u, kind=k, municipality_number=n) for u, (k, n) in drawn.items()}
)


def _service(unit: UnitFacts) -> tuple[str | None, Sector | None]:
    return (unit.municipality_number, unit.sector)


@given(absent=MEMBERSHIPS, substitute=MEMBERSHIPS, units=UNIT_FACTS)
def test_standing_in_never_reaches_beyond_the_absent_persons_units_nor_ones_own_services(
    absent: frozenset[str], substitute: frozenset[str], units: dict[str, UnitFacts]
) -> None:
    gained = units_stood_in_for(substitute, {"absent": absent}, units)
    assert gained <= absent  # a substitute never acts for more than the absent person
    if substitute_refusal(absent, substitute) is not None:
        assert not gained
    own = {_service(units[u]) for u in substitute if u in units and units[u].sector}
    for unit_id in gained:  # never another municipality, never another service (NAV, housing)
        assert unit_id in units and _service(units[unit_id]) in own


def test_a_colleague_of_two_towns_and_nav_passes_on_only_the_shared_service() -> None:
    units = {u.id: u for u in (INTAKE, HOME_CARE, NAV, MARKER)}
    absent = frozenset({INTAKE.id, HOME_CARE.id, NAV.id, MARKER.id})
    gained = units_stood_in_for(frozenset({INTAKE.id}), {"absent": absent}, units)
    assert gained == {INTAKE.id, HOME_CARE.id}  # Halden's health services, not NAV or Marker


# --- assignment -----------------------------------------------------------------------------


def test_assign_only_to_people_who_act_for_the_owner_unit() -> None:
    assert assignee_refusal("halden-prt", frozenset({"halden-prt"})) is None
    assert "halden-prt" in (assignee_refusal("halden-prt", frozenset({"baerum-prt"})) or "")
    assert assignee_refusal("halden-prt", None) is not None  # nobody of that id


# --- forwarding -----------------------------------------------------------------------------


def test_an_intake_goes_only_to_a_municipal_health_unit() -> None:
    assert forward(TaskKind.MUNICIPAL_INTAKE, HOME_CARE) is None
    assert forward(TaskKind.MUNICIPAL_INTAKE, MARKER) is None  # another municipality is fine
    for target in (ORIGIN, OTHER_DPS, NAV, HOUSING):
        everything = frozenset({"share_with_nav", "share_with_housing_office"})
        assert forward(TaskKind.MUNICIPAL_INTAKE, target, everything) is not None, target.id
    assert "discharging" in (forward(TaskKind.MUNICIPAL_INTAKE, ORIGIN) or "")
    assert forward(TaskKind.MUNICIPAL_INTAKE, INTAKE) is not None  # its own unit
    assert forward(TaskKind.MUNICIPAL_INTAKE, None) is not None  # not in the directory


def test_a_handover_goes_to_nav_or_housing_only_with_the_patients_consent() -> None:
    assert forward(TaskKind.HOUSING, HOME_CARE) is None
    assert forward(TaskKind.HOUSING, NAV) is not None
    assert forward(TaskKind.HOUSING, NAV, frozenset({"share_with_nav"})) is None
    assert forward(TaskKind.NAV, HOUSING) is not None
    assert forward(TaskKind.NAV, HOUSING, frozenset({"share_with_housing_office"})) is None
    assert forward(TaskKind.HANDOVER, ORIGIN) is not None
    assert forward(TaskKind.HANDOVER, OTHER_DPS) is not None


def test_the_specialist_service_calls_the_meeting_itself() -> None:
    assert forward(TaskKind.COOPERATION_MEETING, HOME_CARE) is not None


def test_consents_given_are_the_ones_answered_yes() -> None:
    given_ = consents_given({"share_with_nav": True, "share_with_housing_office": False})
    assert given_ == frozenset({"share_with_nav"})
    assert consents_given(None) == frozenset()


ALL_CONSENTS = [
    "share_with_nav",
    "share_with_housing_office",
    "share_with_municipal_health_service",
]
EVERY_CASE = [
    (kind, target_kind, municipality, frozenset(consents))
    for kind in TaskKind
    for target_kind in sorted(SECTOR_OF_KIND)
    for municipality in ("3101", "3122")
    for n in range(len(ALL_CONSENTS) + 1)
    for consents in itertools.combinations(ALL_CONSENTS, n)
]


def test_no_forward_reaches_a_hospital_or_leaks_health_information() -> None:
    """Every step kind × unit kind × municipality × set of consents (the space is small
    enough to walk whole): a hospital unit never; NAV or housing only for a handover and
    only with that office's consent; a health unit for every step but the meeting."""
    for kind, target_kind, municipality, consents in EVERY_CASE:
        target = UnitFacts(id="target", kind=target_kind, municipality_number=municipality)
        allowed = forward(kind, target, consents) is None
        sector = SECTOR_OF_KIND[target_kind]
        if sector is Sector.SPECIALIST or kind is TaskKind.COOPERATION_MEETING:
            assert not allowed, (kind, target_kind)
        elif sector is Sector.COMMUNITY_HEALTH:
            assert allowed, (kind, target_kind)
        else:
            consent = "share_with_nav" if sector is Sector.NAV else "share_with_housing_office"
            assert allowed == (kind in HANDOVER_KINDS and consent in consents), (kind, sector)
        offered = forward_targets(
            kind, [target], owner_unit_id=INTAKE.id, origin_unit_id=ORIGIN.id, consents=consents
        )
        assert offered == ([target] if allowed else [])
    assert len(EVERY_CASE) == len(TaskKind) * len(SECTOR_OF_KIND) * 2 * 8


# --- patient identity -----------------------------------------------------------------------


def test_a_name_differs_only_by_more_than_case_and_spacing() -> None:
    assert not name_differs("Kari  Olsen", ["kari olsen", "KARI OLSEN "])
    assert name_differs("Kari Olsen", ["Kari Olsen", "Kari Hansen"])
    assert not name_differs("Kari Olsen", [])


def test_a_second_episode_needs_the_coordinators_word() -> None:
    assert second_episode_refusal(["t-1", "t-2"], new_episode=False) == "t-1"
    assert second_episode_refusal(["t-1"], new_episode=True) is None
    assert second_episode_refusal([], new_episode=False) is None
