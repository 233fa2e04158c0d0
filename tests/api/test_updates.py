"""api.updates: every command the API sends finds its Update by type, and none is left out."""

from __future__ import annotations

import inspect

from temporalio.workflow import UpdateMethodMultiParam

from api.updates import UPDATES, command_type, update_for
from domain.commands import AcceptTask, RejectTask
from domain.discharge import MarkReady
from workflows.discharge import DischargeWorkflow
from workflows.handover import HandoverWorkflow
from workflows.lar_change import LarPlanChangeWorkflow
from workflows.transition import TransitionWorkflow


def _commanded_updates(cls: type) -> set[str]:
    """The Updates of a workflow that take one command (not the parameterless `started`)."""
    return {
        name
        for name, member in inspect.getmembers(cls)
        if isinstance(member, UpdateMethodMultiParam)
        and len(inspect.signature(member).parameters) == 2
    }


def test_every_commanded_update_of_every_workflow_is_in_the_table() -> None:
    table = {update.__name__ for update in UPDATES}
    for cls in (DischargeWorkflow, HandoverWorkflow, LarPlanChangeWorkflow):
        updates = _commanded_updates(cls)
        assert "reject" in updates  # the walk sees the inherited task commands
        assert updates <= table, cls.__name__


def test_a_command_picks_the_update_that_takes_its_type() -> None:
    assert update_for(RejectTask.model_construct()) is TransitionWorkflow.reject
    assert update_for(AcceptTask.model_construct()) is TransitionWorkflow.accept
    assert update_for(MarkReady.model_construct()) is DischargeWorkflow.mark_ready
    for update in UPDATES:
        assert update_for(command_type(update).model_construct()) is update
