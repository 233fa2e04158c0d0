"""The crash suite's counting, on receipts made up here: a suite that miscounts would pass
whatever the system does."""

from __future__ import annotations

from datetime import UTC, datetime

from crash_scenarios import Receipt, Slot, count, honest_edge, same_id_duplicates

NOW = datetime.now(UTC)
MAIL: Slot = ("task-1", 1, "email", "leder")
HOOK: Slot = ("task-1", 1, "webhook", "prt")
NOTICE: Slot = ("task-1", 1, "in_app", "leder")


def receipt(slot: Slot, delivery_id: str) -> Receipt:
    return Receipt(slot, delivery_id, NOW)


def test_a_missing_delivery_is_lost_and_a_stray_one_unexpected() -> None:
    got = [receipt(MAIL, "m1"), receipt(("task-2", 0, "email", "kontakt"), "m9")]
    counted = count({MAIL, HOOK}, got)
    assert (counted["delivered"], counted["lost"], counted["unexpected"]) == (1, 1, 1)


def test_the_same_id_twice_and_a_second_id_are_both_duplicates() -> None:
    got = [receipt(MAIL, "m1"), receipt(MAIL, "m1"), receipt(HOOK, "h1"), receipt(HOOK, "h2")]
    counted = count({MAIL, HOOK}, got)
    assert (counted["delivered"], counted["lost"]) == (2, 0)
    assert (counted["same_id"], counted["other_ids"]) == (1, 1)
    assert same_id_duplicates(got) == [MAIL]


def test_only_a_killed_sender_with_two_recorded_attempts_is_the_honest_edge() -> None:
    twice = [MAIL, HOOK, NOTICE]
    attempts = {MAIL: 2, HOOK: 1}  # NOTICE: no record at all
    assert honest_edge(twice, attempts, kills_a_sender=True) == 1
    # PostgreSQL or Temporal killed: nothing died between an accept and its record.
    assert honest_edge(twice, attempts, kills_a_sender=False) == 0
