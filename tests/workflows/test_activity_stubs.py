"""The workflows' activity references (workflows/activity_stubs.py) match what the worker
registers: a stub whose name or types drifted would schedule an activity nobody runs, or
hand it a payload it cannot read, and only at run time."""

from __future__ import annotations

from temporalio.activity import _Definition

from foundation.settings import Settings
from store.database import Database
from worker import activities_for
from workflows import activity_stubs


def _registered() -> dict[str, _Definition]:
    # The engine connects lazily: building the activities opens no connection.
    db = Database("postgresql+asyncpg://nobody@localhost/none")
    definitions = (_Definition.must_from_callable(fn) for fn in activities_for(db, Settings()))
    return {definition.name: definition for definition in definitions}


def test_every_stub_names_a_registered_activity_with_its_types() -> None:
    registered = _registered()
    for stub in activity_stubs.ALL:
        reference = _Definition.must_from_callable(stub)
        activity = registered.get(reference.name)
        assert activity is not None, f"no activity named {reference.name!r} in the worker"
        assert reference.arg_types == activity.arg_types, reference.name
        assert reference.ret_type == activity.ret_type, reference.name


def test_every_registered_activity_has_a_stub() -> None:
    stubs = {_Definition.must_from_callable(stub).name for stub in activity_stubs.ALL}
    assert stubs == set(_registered())
