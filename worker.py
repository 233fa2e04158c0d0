"""The Temporal worker: every workflow and activity of overgang on one task queue.

Run it with `overgang worker` (or as part of `overgang up`). Activities get their
dependencies (database, mail, HTTP) here, so workflows and activities stay free of settings.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.directory import DirectoryActivities
from activities.notifications import NotificationActivities
from activities.read_model import ReadModelActivities
from overgang.settings import Settings
from store.database import Database
from workflows.discharge import DischargeWorkflow

WORKFLOWS = [DischargeWorkflow]


def activities_for(db: Database, settings: Settings) -> list[object]:
    read_model = ReadModelActivities(db)
    directory = DirectoryActivities(db)
    notifications = NotificationActivities(db)
    return [
        read_model.register_transition,
        read_model.project,
        directory.load_escalation_policy,
        notifications.notify,
    ]


def build_worker(client: Client, db: Database, settings: Settings) -> Worker:
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activities_for(db, settings),
    )
