"""Who may do what: every authorization decision of the API, in one place.

Each rule is a plain function of the actor and the thing acted on; routes call them and
turn a refusal into 403 with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from api.errors import Problem
from domain.actors import Actor, Role

DPS_UNIT_KINDS = frozenset({"dps", "tsb"})


class Forbidden(Problem):
    def __init__(self, reason: str) -> None:
        super().__init__(403, "Forbidden", reason)


def require(allowed: bool, reason: str) -> None:
    if not allowed:
        raise Forbidden(reason)


def may_start_transition(actor: Actor, origin_unit_id: str) -> None:
    require(
        actor.has_role(Role.DISCHARGE_COORDINATOR) or actor.has_role(Role.LAR_CONSULTANT),
        "only discharge coordinators and LAR consultants start transitions",
    )
    require(actor.acts_for(origin_unit_id), f"you do not act for unit {origin_unit_id}")


def may_act_on_task(actor: Actor, owner_unit_id: str) -> None:
    require(
        actor.acts_for(owner_unit_id),
        f"this task belongs to unit {owner_unit_id}, which you are not a contact of",
    )


def may_view_transition(actor: Actor, origin_unit_id: str, task_unit_ids: Iterable[str]) -> None:
    involved = {origin_unit_id, *task_unit_ids}
    require(
        actor.has_role(Role.LEADER) or bool(involved & actor.unit_ids),
        "you are not involved in this transition",
    )
