"""Checks on people's commands that need the directory, made before the command goes to the
workflow as an Update: who a step may be assigned to, where it may be forwarded. The rules
are domain.delegation's; the workflow keeps its own checks on the step's state."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.policies.service import invalid
from domain.commands import AssignTask, RejectTask
from domain.delegation import assignee_refusal, consents_given, forward_refusal
from domain.tasks import TaskKind
from store import absences, directory
from store import inbox as queries
from store.access import unit_facts
from store.tables import TaskRow


async def check(session: AsyncSession, row: TaskRow, command: BaseModel) -> None:
    """Refuse with 422 naming the field when the command hands the step to the wrong one."""
    if isinstance(command, AssignTask):
        await _check_assignee(session, row, command.assignee_id)
    if isinstance(command, RejectTask) and command.forward_to_unit_id:
        await _check_forward(session, row, command.forward_to_unit_id)


async def _check_assignee(session: AsyncSession, row: TaskRow, assignee_id: str) -> None:
    person = await directory.get_person(session, assignee_id)
    member_of = None
    if person is not None:
        member_of = (await absences.memberships_of(session, {assignee_id})).get(
            assignee_id, frozenset()
        )
    refusal = assignee_refusal(row.owner_unit_id, member_of)
    if refusal is not None:
        raise invalid("assignee_id", f"{assignee_id}: {refusal}")


async def _check_forward(session: AsyncSession, row: TaskRow, to_unit_id: str) -> None:
    transition = await queries.get_transition(session, row.transition_id)
    target = (await unit_facts(session, [to_unit_id])).get(to_unit_id)
    refusal = forward_refusal(
        TaskKind(row.kind),
        target,
        owner_unit_id=row.owner_unit_id,
        origin_unit_id=transition.origin_unit_id if transition else "",
        consents=consents_given(transition.details.get("consents") if transition else None),
    )
    if refusal is not None:
        raise invalid("forward_to_unit_id", f"{to_unit_id}: {refusal}")
