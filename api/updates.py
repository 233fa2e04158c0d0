"""Which workflow Update runs a command: the typed method references, in one place.

Every command the API sends is one Update whose single parameter has the command's type, so
the command picks its Update. The table is built from the workflows' own signatures: renaming
an Update or its command type changes the table with it, instead of breaking a string name at
run time, and two Updates taking one command type fail at import.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from temporalio.workflow import UpdateMethodMultiParam

from workflows.discharge import DischargeWorkflow
from workflows.lar_change import LarPlanChangeWorkflow
from workflows.transition import TransitionWorkflow

Update = UpdateMethodMultiParam[[Any, Any], Any]

# Task commands reach any transition workflow; the others only their own kind.
UPDATES: tuple[Update, ...] = (
    TransitionWorkflow.acknowledge,
    TransitionWorkflow.accept,
    TransitionWorkflow.reject,
    TransitionWorkflow.start_work,
    TransitionWorkflow.complete,
    TransitionWorkflow.assign,
    TransitionWorkflow.cancel,
    DischargeWorkflow.record_meeting,
    DischargeWorkflow.name_coordinator,
    DischargeWorkflow.mark_ready,
    DischargeWorkflow.mark_discharged,
    DischargeWorkflow.record_first_contact,
    DischargeWorkflow.change_discharge_date,
    LarPlanChangeWorkflow.answer,
    LarPlanChangeWorkflow.override,
    LarPlanChangeWorkflow.withdraw,
    LarPlanChangeWorkflow.revise,
    LarPlanChangeWorkflow.record_patient_view,
)


def command_type(update: Update) -> type[BaseModel]:
    """The type of the one parameter the Update takes (after self)."""
    hints = typing.get_type_hints(update)
    hints.pop("return", None)
    (command,) = hints.values()
    return typing.cast(type[BaseModel], command)


def _by_command() -> dict[type[BaseModel], Update]:
    table: dict[type[BaseModel], Update] = {}
    for update in UPDATES:
        command = command_type(update)
        if command in table:
            raise TypeError(f"{command.__name__} is taken by two Updates")
        table[command] = update
    return table


_BY_COMMAND = _by_command()


def update_for(command: BaseModel) -> Update:
    """The Update that runs this command."""
    return _BY_COMMAND[type(command)]
