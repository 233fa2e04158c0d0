"""LarPlanChangeWorkflow in virtual time (domain.md rule 10): the municipality is consulted
before the change takes effect; an objection stops the change until the LAR physician
overrides with a reason, or the proposal is withdrawn or revised (a revision re-opens the
consultation with the new proposal and a new deadline); the origin unit hears of the objection.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain import lar
from domain.actors import Role
from domain.calendar import OSLO
from domain.commands import AcceptTask, AcknowledgeTask, CompleteTask
from domain.lar import AnswerConsultation, OverrideConsultation
from domain.transition import TransitionStatus

from virtual_time import (
    PROPOSAL,
    LarPlanChangeWorkflow,
    VirtualStack,
    clock_levels,
    oslo,
    transition_id,
)

MONTH = 30 * 24 * 60


class LarPeople:
    def __init__(self, virtual: VirtualStack) -> None:
        self.virtual = virtual

    async def add(self) -> LarPeople:
        d = self.virtual.directory
        self.consultant_id = await d.add_person("lar-konsulent", ["lar_consultant"], d.dps)
        self.physician_id = await d.add_person("lar-lege", ["lar_physician"], d.dps)
        return self

    @property
    def consultant(self) -> Any:
        return self.virtual.people.lar(self.consultant_id, Role.LAR_CONSULTANT)

    @property
    def physician(self) -> Any:
        return self.virtual.people.lar(self.physician_id, Role.LAR_PHYSICIAN)


async def objected(
    virtual: VirtualStack, people: LarPeople, effective: date
) -> WorkflowHandle[Any, Any]:
    """A proposed change the municipality's LAR contact has objected to."""
    await virtual.use_policy(clock_levels(MONTH, MONTH))
    handle = await virtual.start_lar_change(effective, proposed_by=people.consultant_id)
    await answer(virtual, handle, agree=False)
    return handle


async def answer(virtual: VirtualStack, handle: WorkflowHandle[Any, Any], *, agree: bool) -> None:
    view = await handle.query(LarPlanChangeWorkflow.view)
    consultation = [t for t in view.tasks if t.kind.value == "lar_consultation" and t.is_open]
    contact = virtual.people.contact
    await handle.execute_update(
        LarPlanChangeWorkflow.acknowledge,
        AcknowledgeTask(task_id=consultation[-1].id, actor=contact),
    )
    comment = "Greit" if agree else "Apoteket har ikke plass til flere på daglig utlevering"
    command = AnswerConsultation(actor=contact, agree=agree, comment=comment)
    await handle.execute_update(LarPlanChangeWorkflow.answer, command)


async def kinds(virtual: VirtualStack, handle: WorkflowHandle[Any, Any]) -> list[str]:
    return [e.kind for e in await virtual.events(transition_id(handle))]


async def implement(virtual: VirtualStack, handle: WorkflowHandle[Any, Any]) -> None:
    """The dispensing site confirms the change; the transition completes."""
    [task] = [
        t for t in (await handle.query(LarPlanChangeWorkflow.view)).tasks
        if t.kind.value == "lar_implementation"
    ]  # fmt: skip
    site = virtual.people.member_of(virtual.directory.other_unit)
    ack = AcknowledgeTask(task_id=task.id, actor=site)
    await handle.execute_update(LarPlanChangeWorkflow.acknowledge, ack)
    accept = AcceptTask(task_id=task.id, actor=site)
    await handle.execute_update(LarPlanChangeWorkflow.accept, accept)
    complete = CompleteTask(task_id=task.id, actor=site)
    await handle.execute_update(LarPlanChangeWorkflow.complete, complete)


async def today(virtual: VirtualStack) -> date:
    return (await virtual.now()).astimezone(OSLO).date()


async def test_an_objection_stops_the_change_and_the_origin_unit_is_told(
    virtual: VirtualStack,
) -> None:
    people = await LarPeople(virtual).add()
    effective = await today(virtual) + timedelta(days=7)
    handle = await objected(virtual, people, effective)
    tid = transition_id(handle)

    # The effective date passes: nothing changes.
    await virtual.advance_to(oslo(effective + timedelta(days=2)))
    await virtual.settled(handle)
    assert "lar_change_effective" not in await kinds(virtual, handle)
    tasks = (await handle.query(LarPlanChangeWorkflow.view)).tasks
    assert [t.kind.value for t in tasks] == ["lar_consultation"]

    # The origin unit (the LAR consultant) was told of the objection.
    notified = [n for n in await virtual.notifications(tid) if n.reason == "lar_objection"]
    assert {n.person_id for n in notified} >= {people.consultant_id}


async def test_the_physician_may_override_an_objection_with_a_reason(
    virtual: VirtualStack,
) -> None:
    people = await LarPeople(virtual).add()
    effective = await today(virtual) + timedelta(days=7)
    handle = await objected(virtual, people, effective)
    tid = transition_id(handle)

    reason = "Pasienten mister jobben ved daglig henting; vi tar ansvaret"
    await handle.execute_update(
        LarPlanChangeWorkflow.override, OverrideConsultation(actor=people.physician, reason=reason)
    )
    [override] = await virtual.event(tid, "override")
    assert override.actor_id == people.physician_id and override.detail["reason"] == reason

    # It takes effect on its date, not before.
    await virtual.advance_to(oslo(effective) - timedelta(hours=1))
    await virtual.settled(handle)
    assert "lar_change_effective" not in await kinds(virtual, handle)
    await virtual.advance_to(oslo(effective, 0, 1))
    [effective_event] = await virtual.event(tid, "lar_change_effective")
    assert effective_event.detail["answer"] == "overridden"
    await implement(virtual, handle)
    outcome = await handle.result()
    assert outcome.status is TransitionStatus.COMPLETED and outcome.effective


async def test_a_change_withdrawn_after_an_objection_never_takes_effect(
    virtual: VirtualStack,
) -> None:
    people = await LarPeople(virtual).add()
    effective = await today(virtual) + timedelta(days=7)
    handle = await objected(virtual, people, effective)

    withdraw = lar.WithdrawProposal(actor=people.consultant, reason="Kommunen har rett")
    await handle.execute_update(LarPlanChangeWorkflow.withdraw, withdraw)
    await virtual.advance_to(oslo(effective + timedelta(days=1)))
    outcome = await handle.result()
    assert outcome.status is TransitionStatus.CANCELLED
    assert not outcome.effective
    assert outcome.answer == "withdrawn"
    kinds_seen = await kinds(virtual, handle)
    assert "lar_withdrawn" in kinds_seen and "lar_change_effective" not in kinds_seen


async def test_a_revision_reopens_the_consultation_with_a_new_deadline(
    virtual: VirtualStack,
) -> None:
    people = await LarPeople(virtual).add()
    first_date = await today(virtual) + timedelta(days=7)
    handle = await objected(virtual, people, first_date)
    tid = transition_id(handle)

    new_date = first_date + timedelta(days=14)
    revised = PROPOSAL.model_copy(update={"pick_up_regime": "tre ganger i uka"})
    revise = lar.ReviseProposal(actor=people.consultant, proposal=revised, effective_date=new_date)
    await handle.execute_update(LarPlanChangeWorkflow.revise, revise)
    view = await handle.query(LarPlanChangeWorkflow.view)
    reopened = [t for t in view.tasks if t.kind.value == "lar_consultation" and t.is_open]
    assert len(reopened) == 1
    assert reopened[0].due_at == lar.answer_deadline(new_date, lar.OfficeHours())
    [revision] = await virtual.event(tid, "lar_revised")
    assert revision.detail["effective_date"] == new_date.isoformat()
    assert revision.detail["pick_up_regime"] == "tre ganger i uka"

    # Agreed this time: it takes effect on the new date, not the old one.
    await answer(virtual, handle, agree=True)
    await virtual.advance_to(oslo(first_date + timedelta(days=1)))
    await virtual.settled(handle)
    assert "lar_change_effective" not in await kinds(virtual, handle)
    await virtual.advance_to(oslo(new_date, 0, 1))
    [effective_event] = await virtual.event(tid, "lar_change_effective")
    assert oslo(new_date) <= effective_event.at < oslo(new_date) + timedelta(seconds=1)


async def test_only_the_origin_side_may_withdraw_and_only_before_it_takes_effect(
    virtual: VirtualStack,
) -> None:
    people = await LarPeople(virtual).add()
    effective = await today(virtual) + timedelta(days=7)
    handle = await objected(virtual, people, effective)
    withdraw = lar.WithdrawProposal(actor=virtual.people.contact, reason="Vi vil ikke")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(LarPlanChangeWorkflow.withdraw, withdraw)
    assert "LAR consultant or physician" in str(refused.value.cause)


async def test_an_unacknowledged_consultation_escalates_the_working_day_before_easter(
    virtual: VirtualStack,
) -> None:
    # Effective Tuesday after Easter 2027: the last working day before is the Wednesday
    # before Maundy Thursday, so the answer is due at its start, six days earlier.
    people = await LarPeople(virtual).add()
    await virtual.use_policy(clock_levels(MONTH, MONTH, MONTH))
    await virtual.advance_to(oslo(date(2027, 3, 10), 9))
    effective = date(2027, 3, 30)
    handle = await virtual.start_lar_change(effective, proposed_by=people.consultant_id)
    tid = transition_id(handle)
    due = oslo(date(2027, 3, 24))
    [consultation] = (await handle.query(LarPlanChangeWorkflow.view)).tasks
    assert consultation.due_at == due

    await virtual.advance_to(due - timedelta(minutes=1))
    await virtual.settled(handle)
    assert await virtual.events(tid, "answer_deadline_missed") == []
    await virtual.advance_to(due + timedelta(minutes=1))
    [missed] = await virtual.event(tid, "answer_deadline_missed")
    assert due <= missed.at < due + timedelta(seconds=1)
    [escalated] = await virtual.event(tid, "escalated")
    assert escalated.detail["level"] == "2"


async def test_a_revised_consultation_escalates_at_its_own_answer_deadline(
    virtual: VirtualStack,
) -> None:
    people = await LarPeople(virtual).add()
    first_date = await today(virtual) + timedelta(days=7)
    handle = await objected(virtual, people, first_date)
    tid = transition_id(handle)
    new_date = first_date + timedelta(days=14)
    revise = lar.ReviseProposal(actor=people.consultant, proposal=PROPOSAL, effective_date=new_date)
    await handle.execute_update(LarPlanChangeWorkflow.revise, revise)

    due = lar.answer_deadline(new_date, lar.OfficeHours())
    await virtual.advance_to(due + timedelta(minutes=1))
    [missed] = await virtual.event(tid, "answer_deadline_missed")
    assert due <= missed.at < due + timedelta(seconds=1)
    assert missed.detail["effective_date"] == new_date.isoformat()
