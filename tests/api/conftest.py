"""Fixtures for the API tests: the virtual-time stack (see virtual_stack.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from virtual_stack import VirtualStack, virtual_stack

from foundation.settings import Settings
from store.database import Database


@pytest.fixture(scope="module")
def virtual_settings(settings: Settings) -> Settings:
    """The virtual stack's settings; a module overrides this fixture to change, say, the
    cooperation agreement's periods."""
    return settings.model_copy(update={"temporal_task_queue": "overgang-virtual"})


@pytest.fixture
async def virtual(virtual_settings: Settings, db: Database) -> AsyncIterator[VirtualStack]:
    """A time-skipping server of its own for each test (it starts in under a second): time
    skipping is global to a server, and one test's workflows must not act in another's."""
    async with virtual_stack(virtual_settings, db) as stack:
        yield stack
