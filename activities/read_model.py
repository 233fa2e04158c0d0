"""Activities that keep the PostgreSQL read model (inbox, dashboards, timeline) in step."""

from __future__ import annotations

from temporalio import activity

from domain.transition import Projection, TransitionRecord
from store import read_model
from store.database import Database


class ReadModelActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    async def register_transition(self, record: TransitionRecord) -> None:
        async with self.db.transaction() as session:
            await read_model.register_transition(session, record)

    @activity.defn
    async def project(self, projection: Projection) -> None:
        """Write one batch of changes in one transaction: all of it or none."""
        workflow_id = activity.info().workflow_id or ""
        async with self.db.transaction() as session:
            await read_model.apply_projection(session, projection, workflow_id)
