"""Fixtures for workflows in virtual time (see virtual_time.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from foundation.settings import Settings
from store.database import Database

from factories import DirectoryFactory
from virtual_time import VirtualStack, virtual_stack


@pytest.fixture
async def virtual(
    db: Database, settings: Settings, directory: DirectoryFactory
) -> AsyncIterator[VirtualStack]:
    """A time-skipping Temporal of this test's own, with the real worker on PostgreSQL."""
    async with virtual_stack(db, settings, directory) as stack:
        yield stack
