"""The Temporal worker: every workflow and activity of overgang on one task queue.

Run it with `overgang worker` (or as part of `overgang up`). Activities get their
dependencies (database, mail, HTTP) here, so workflows and activities stay free of settings.
"""

from __future__ import annotations

import contextlib
import logging
import sysconfig
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import temporalio.activity
import temporalio.workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.directory import DirectoryActivities
from activities.email_channel import EmailChannel, EmailOptions
from activities.notifications import NotificationActivities
from activities.read_model import ReadModelActivities
from activities.webhook_channel import WebhookChannel, WebhookOptions
from domain.calendar import norwegian_public_holidays
from foundation.observability import transition_id_of
from foundation.settings import Settings
from store.database import Database
from workflows.discharge import DischargeWorkflow
from workflows.handover import HandoverWorkflow
from workflows.lar_change import LarPlanChangeWorkflow

log = logging.getLogger("overgang.worker")
WORKFLOWS = [DischargeWorkflow, HandoverWorkflow, LarPlanChangeWorkflow]
# What enters a workflow carries its holidays as data (domain.calendar.frozen_from). This is
# the safety net for what does not: histories recorded before that, and dates past the frozen
# years. `holidays` loads country modules (and dateutil, whose parser reads time.localtime
# at import) lazily, so pass them through, and warm the cache outside the sandbox. The
# Replayer uses the same runner.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("holidays", "dateutil")
)


def email_options(settings: Settings) -> EmailOptions:
    password = settings.smtp_password
    return EmailOptions(
        base_url=settings.api_base_url,
        sender=settings.smtp_sender,
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password.get_secret_value() if password else None,
        start_tls=settings.smtp_start_tls,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def webhook_options(settings: Settings) -> WebhookOptions:
    return WebhookOptions(
        base_url=settings.api_base_url, timeout_seconds=settings.webhook_timeout_seconds
    )


def notification_activities(db: Database, settings: Settings) -> NotificationActivities:
    """Notices on every channel, configured from the one Settings: activities never read it."""
    email = EmailChannel(email_options(settings))
    return NotificationActivities(db, email, WebhookChannel(webhook_options(settings)))


def activities_for(db: Database, settings: Settings) -> list[Callable[..., Any]]:
    read_model = ReadModelActivities(db)
    directory = DirectoryActivities(db)
    notifications = notification_activities(db, settings)
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


def build_worker(
    client: Client,
    db: Database,
    settings: Settings,
    *,
    workflows: Sequence[type] = WORKFLOWS,
    workflow_runner: WorkflowRunner = WORKFLOW_RUNNER,
    **options: Any,
) -> Worker:
    """The worker for every workflow (tests may add probe workflows of their own); `options`
    tune it (the simulation caches every open workflow and watches its timers through a
    runner that wraps ours)."""
    warm_holiday_calendar()
    # Our log lines carry the workflow and activity ids as fields (foundation.observability):
    # the SDK need not append its info dict to every message as well.
    temporalio.activity.logger.activity_info_on_message = False
    temporalio.workflow.logger.workflow_info_on_message = False
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=workflows,
        activities=activities_for(db, settings),
        workflow_runner=workflow_runner,
        interceptors=[ActivityFailureLog()],
        **options,
    )


# --- one line per failed attempt (issue 12, observation 6) ----------------------------------
# The SDK logs every failed attempt at WARNING with its full traceback: during a database
# outage that is one traceback per activity and retry. We log one line per attempt instead,
# and the traceback once, on the attempt after which Temporal will not retry. An activity
# that retries for ever never gets there: its last failure, with the stack trace, is on the
# workflow's pending activity (`temporal workflow describe`, the Web UI).
REPORTED = "_overgang_failure_logged"
ERROR_SUMMARY_LENGTH = 240


class ActivityFailureLog(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        _drop_sdk_failure_records_we_logged()
        return _LogFailedAttempts(next)


class _LogFailedAttempts(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except CancelledError:
            raise  # cancelled, not failed: the SDK says so at DEBUG
        except Exception as error:
            log_failed_attempt(temporalio.activity.info(), error)
            raise


def log_failed_attempt(info: temporalio.activity.Info, error: Exception) -> None:
    fields = {
        "workflow_id": info.workflow_id,
        "transition_id": transition_id_of(info.workflow_id),
        "activity": info.activity_type,
        "attempt": info.attempt,
        "error": error_summary(error),
    }
    if is_last_attempt(info, error):
        log.error(
            "activity %s gave up at attempt %d: %s",
            *(info.activity_type, info.attempt, fields["error"]),
            exc_info=error,
            extra=fields,
        )
    else:
        log.warning(
            "activity %s attempt %d failed, will retry: %s",
            *(info.activity_type, info.attempt, fields["error"]),
            extra=fields,
        )
    _mark_logged(error)


def is_last_attempt(info: temporalio.activity.Info, error: Exception) -> bool:
    """Whether Temporal will not retry after this failure (by the error or the policy)."""
    if isinstance(error, ApplicationError) and error.non_retryable:
        return True
    policy = info.retry_policy
    if policy is None:
        return False
    error_type = error.type if isinstance(error, ApplicationError) else type(error).__name__
    if error_type in (policy.non_retryable_error_types or ()):
        return True
    return bool(policy.maximum_attempts) and info.attempt >= policy.maximum_attempts


def error_summary(error: BaseException) -> str:
    """The error's type, the first line of its message and the library that raised it."""
    first_line = next(iter(str(error).strip().splitlines()), "")
    summary = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    origin = _raised_in(error)
    return (f"{summary} (in {origin})" if origin else summary)[:ERROR_SUMMARY_LENGTH]


def _raised_in(error: BaseException) -> str | None:
    """The innermost module outside the standard library on the error's traceback: a bare
    "No such file or directory" means more when it says it came from asyncpg."""
    modules = [
        frame.f_globals.get("__name__")
        for frame, _ in traceback.walk_tb(error.__traceback__)
        if not _in_standard_library(frame.f_code.co_filename)
    ]
    return modules[-1] if modules else None


def _in_standard_library(filename: str) -> bool:
    # Installed packages may live under the standard library's folder (no virtualenv).
    stdlib = sysconfig.get_paths()["stdlib"]
    return filename.startswith(stdlib) and "-packages" not in filename


def _mark_logged(error: Exception) -> None:
    # An exception without a __dict__ cannot be marked: the SDK's own record then stays.
    with contextlib.suppress(AttributeError):
        setattr(error, REPORTED, True)


class _SkipLoggedFailures(logging.Filter):
    """Drops the SDK's "Completing activity as failed" record for a failure logged above."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not getattr(error, REPORTED, False)


def _drop_sdk_failure_records_we_logged() -> None:
    sdk_logger = logging.getLogger(temporalio.activity.logger.logger.name)
    if not any(isinstance(f, _SkipLoggedFailures) for f in sdk_logger.filters):
        sdk_logger.addFilter(_SkipLoggedFailures())
