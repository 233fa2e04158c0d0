"""The Temporal worker: every workflow and activity of overgang on one task queue.

Run it with `overgang worker` (or as part of `overgang up`). Activities get their
dependencies (database, mail, HTTP) here, so workflows and activities stay free of settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.directory import DirectoryActivities
from activities.email_channel import EmailChannel
from activities.notifications import NotificationActivities
from activities.read_model import ReadModelActivities
from activities.webhook_channel import WebhookChannel
from domain.calendar import norwegian_public_holidays
from foundation.settings import Settings
from store.database import Database
from workflows.discharge import DischargeWorkflow
from workflows.handover import HandoverWorkflow
from workflows.lar_change import LarPlanChangeWorkflow

WORKFLOWS = [DischargeWorkflow, HandoverWorkflow, LarPlanChangeWorkflow]
# What enters a workflow carries its holidays as data (domain.calendar.frozen_from). This is
# the safety net for what does not: histories recorded before that, and dates past the frozen
# years. `holidays` loads country modules (and dateutil, whose parser reads time.localtime
# at import) lazily, so pass them through, and warm the cache outside the sandbox. The
# Replayer uses the same runner.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("holidays", "dateutil")
)


def activities_for(db: Database, settings: Settings) -> list[Callable[..., Any]]:
    read_model = ReadModelActivities(db)
    directory = DirectoryActivities(db)
    notifications = NotificationActivities(db, EmailChannel(settings), WebhookChannel(settings))
    return [
        read_model.register_transition,
        read_model.project,
        directory.load_escalation_policy,
        notifications.notify,
    ]


def warm_holiday_calendar(years_ahead: int = 10) -> None:
    """Compute the public holidays outside the sandbox, where `holidays` may read the locale:
    workflows share domain.calendar's cache (it is passed through), so business-time
    deadlines never load holiday rules inside the sandbox, where that is restricted."""
    this_year = datetime.now(UTC).year
    for year in range(this_year - 1, this_year + years_ahead + 1):
        norwegian_public_holidays(year)


def build_worker(client: Client, db: Database, settings: Settings, **options: Any) -> Worker:
    """The worker; `options` tune it (e.g. the simulation caches every open workflow)."""
    warm_holiday_calendar()
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activities_for(db, settings),
        workflow_runner=WORKFLOW_RUNNER,
        **options,
    )
