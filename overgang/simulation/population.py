"""The population a simulated year is made of: who is discharged where and when, what they
need, and how the people on each side behave. Pure and seeded: one seed, one population.

Figures are rough national orders of magnitude, not a statistical model: about 15 600 adult
psychiatric discharges a year; stays with a median of three weeks; a discharge date that
moves in about a third of stays; about one patient in twenty re-admitted or cancelled before
discharge and one in fifteen leaving unplanned; most contacts acknowledge within hours of
office time, some only once their leader is told.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from domain.calendar import OSLO, BusinessCalendar
from domain.discharge import Consents, Needs

YEARLY_DISCHARGES = 15_600

# (kommunenummer, slug, weight, discharging unit): weights follow population and need.
MUNICIPALITIES = (
    ("3201", "baerum", 0.36, "dps-baerum"),
    ("0301", "gamle-oslo", 0.26, "dps-lovisenberg"),
    ("3222", "lorenskog", 0.16, "tsb-ahus"),
    ("3101", "halden", 0.19, "dps-halden"),
    ("3122", "marker", 0.03, "dps-halden"),
)
LAR_UNIT = "tsb-ahus"
LAR_PHYSICIAN = "tsb-ahus-lege"
CALENDAR = BusinessCalendar()
# The population plans people's moments on a quarter-hour grid of office time; the driver then
# runs each on the next tick of its own grid (SimulationConfig.action_grid_seconds), where
# what falls due together goes to the workflows together.
GRID_MINUTES = 15


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate; the defaults model one Norwegian year."""

    transitions: int = YEARLY_DISCHARGES
    days: int = 365
    seed: int = 2026
    drain_days: int = 35  # after the last admission, let the population settle
    lar_share: float = 0.06  # LAR changes, as a share of discharges
    checks_per_day: int = 20  # open transitions compared with the read model each day
    history_share: float = 0.1  # closed workflows whose history is read for failed tasks
    # Wall seconds without any sleep, command or check finishing before the run is ended as
    # stalled: a busy day's burst of commands finishes well within it on two cores.
    stall_seconds: float = 120.0
    # People's actions run on this grid of virtual seconds (overgang.simulation.agenda.Agenda);
    # 0: each at its own instant. Steps and their deadlines are whole minutes after a command,
    # so on a grid of whole minutes the timers came due on the ticks, amid the burst of
    # commands, and went out over a second late while the test server's clock ran at wall
    # pace. On 433 s (a prime) a whole number of minutes lands on a tick only if it is a
    # multiple of 433 minutes.
    action_grid_seconds: int = 433

    @property
    def discharges(self) -> int:
        return self.transitions

    @property
    def lar_changes(self) -> int:
        return round(self.transitions * self.lar_share)


@dataclass(frozen=True)
class Place:
    municipality_number: str
    slug: str
    origin_unit_id: str

    @property
    def intake_unit_id(self) -> str:
        return f"{self.slug}-prt"

    @property
    def housing_unit_id(self) -> str:
        return f"{self.slug}-bolig"

    @property
    def nav_unit_id(self) -> str:
        return f"{self.slug}-nav"


Outcome = Literal["planned", "unplanned", "cancelled"]


@dataclass
class DischargeCase:
    index: int
    transition_id: str
    place: Place
    start_at: datetime
    expected: date
    needs: Needs
    consents: Consents
    date_moves: list[tuple[datetime, date]]
    ready_lead_days: int
    outcome: Outcome
    outcome_at: datetime | None = None
    meeting_recorded: bool = True
    patient_id: str = ""

    @property
    def kind(self) -> str:
        return "discharge"


@dataclass
class LarCase:
    index: int
    transition_id: str
    place: Place
    start_at: datetime
    effective: date
    objects: bool
    after_objection: Literal["override", "withdraw"]
    patient_id: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "lar_change"


Case = DischargeCase | LarCase


def case_rng(seed: int, *parts: object) -> random.Random:
    """A generator of its own for one decision: the same seed gives the same choices,
    whatever order the simulation happens to make them in."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def office_instant(day: date, rng: random.Random) -> datetime:
    """A moment on the grid in office hours on `day` (or the next working day)."""
    day = CALENDAR.add_business_days(day, 0)
    minutes = GRID_MINUTES * rng.randrange(8 * 60 // GRID_MINUTES + 1, 15 * 60 // GRID_MINUTES + 2)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=OSLO).astimezone(UTC)


def on_grid(at: datetime) -> datetime:
    """The first grid moment after `at`."""
    base = at.replace(minute=0, second=0, microsecond=0)
    return base + timedelta(minutes=GRID_MINUTES * (at.minute // GRID_MINUTES + 1))


def after_business_minutes(start: datetime, minutes: float) -> datetime:
    """`minutes` of office time after `start`, on the grid."""
    return on_grid(CALENDAR.add(start, timedelta(minutes=minutes)))


def lognormal_minutes(rng: random.Random, median: float, spread: float = 1.0) -> float:
    return median * math.exp(rng.gauss(0, spread))


def _place(rng: random.Random) -> Place:
    weights = [w for _, _, w, _ in MUNICIPALITIES]
    number, slug, _, origin = rng.choices(MUNICIPALITIES, weights)[0]
    return Place(number, slug, origin)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _needs(rng: random.Random) -> tuple[Needs, Consents]:
    needs = Needs(
        municipal_follow_up=rng.random() < 0.95,
        housing=rng.random() < 0.15,
        nav=rng.random() < 0.35,
        lar=rng.random() < 0.08,
        coordinator=rng.random() < 0.30,
    )
    consents = Consents(
        share_with_housing_office=rng.random() < 0.8,
        share_with_nav=rng.random() < 0.7,
    )
    return needs, consents


def _date_moves(rng: random.Random, start: datetime, expected: date) -> list[tuple[datetime, date]]:
    """Discharge dates that move, earlier or later, decided while the patient is in."""
    moves: list[tuple[datetime, date]] = []
    current, since = expected, start.astimezone(OSLO).date()
    for _ in range(rng.choice((0, 0, 0, 0, 1, 1, 2))):
        span = (current - since).days
        if span < 3:
            break
        decided = since + timedelta(days=rng.randrange(1, span - 1))
        shift = rng.choice((-1, 1)) * rng.randrange(2, 15)
        new = max(decided + timedelta(days=2), current + timedelta(days=shift))
        if new == current:
            continue
        moves.append((office_instant(decided, rng), new))
        current, since = new, decided
    return moves


def _outcome(
    rng: random.Random, start: datetime, expected: date
) -> tuple[Outcome, datetime | None]:
    roll = rng.random()
    if roll >= 0.12:
        return "planned", None
    span = max(1, (expected - start.astimezone(OSLO).date()).days)
    day = start.astimezone(OSLO).date() + timedelta(days=rng.randrange(1, span + 1))
    return ("cancelled" if roll < 0.05 else "unplanned"), office_instant(day, rng)


def discharge_case(config: SimulationConfig, index: int, first_day: date) -> DischargeCase:
    rng = case_rng(config.seed, "discharge", index)
    start = office_instant(first_day + timedelta(days=rng.randrange(config.days)), rng)
    stay = min(120, max(3, round(lognormal_minutes(rng, 21, 0.6))))
    expected = start.astimezone(OSLO).date() + timedelta(days=stay)
    needs, consents = _needs(rng)
    outcome, outcome_at = _outcome(rng, start, expected)
    return DischargeCase(
        index=index,
        transition_id=_uuid(rng),
        place=_place(rng),
        start_at=start,
        expected=expected,
        needs=needs,
        consents=consents,
        date_moves=_date_moves(rng, start, expected),
        ready_lead_days=rng.choice((0, 0, 1, 1, 2, 3)),
        outcome=outcome,
        outcome_at=outcome_at,
        meeting_recorded=rng.random() < 0.9,
    )


def lar_case(config: SimulationConfig, index: int, first_day: date) -> LarCase:
    rng = case_rng(config.seed, "lar", index)
    start = office_instant(first_day + timedelta(days=rng.randrange(config.days)), rng)
    effective = CALENDAR.add_business_days(start.astimezone(OSLO).date(), rng.randrange(4, 16))
    return LarCase(
        index=index,
        transition_id=_uuid(rng),
        place=_place(rng),
        start_at=start,
        effective=effective,
        objects=rng.random() < 0.2,
        after_objection="override" if rng.random() < 0.6 else "withdraw",
    )


def population(config: SimulationConfig, first_day: date) -> list[Case]:
    """Every case of the run, in the order they start."""
    cases: list[Case] = [discharge_case(config, i, first_day) for i in range(config.discharges)]
    cases += [lar_case(config, i, first_day) for i in range(config.lar_changes)]
    return sorted(cases, key=lambda case: case.start_at)


# --- how people answer a step --------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """When the owner of a new step acknowledges it, and what they do next."""

    acknowledge_after: float  # business minutes after the step was created
    silent_until_level: int | None  # answers only once the chain has reached this level
    then_after_days: int  # days from acknowledgement to the next action (accept, answer)
    forward: bool  # reject and forward the step to another unit


def response(seed: int, transition_id: str, kind: str, nth: int) -> Response:
    """How the owner answers the nth step of this kind in this transition."""
    rng = case_rng(seed, transition_id, kind, nth)
    silent = 2 if rng.random() < 0.05 else (1 if rng.random() < 0.1 else None)
    return Response(
        acknowledge_after=min(lognormal_minutes(rng, 80, 1.0), 60 * 30),
        silent_until_level=silent,
        then_after_days=rng.choice((0, 0, 0, 0, 1, 2, 3, 5, 8, 13)),
        forward=rng.random() < (0.12 if kind in ("housing", "nav") else 0.0),
    )
