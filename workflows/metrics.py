"""Metrics a workflow records through the SDK's meter (skipped while it replays history)."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

# Bucket boundaries for it are set where the Runtime is made (foundation.telemetry).
ESCALATION_LAG = "overgang_escalation_lag_seconds"


def record_escalation_lag(due: datetime, action: str, level: int) -> None:
    """How long after its due time an escalation or reminder had gone out: the wait for the
    worker, for the timer and for the notification's retries (an outage) together."""
    lag = max(workflow.now() - due, timedelta(0))
    histogram = workflow.metric_meter().create_histogram_timedelta(
        ESCALATION_LAG,
        "How long after its due time an escalation or reminder went out.",
        "s",
    )
    histogram.with_additional_attributes({"action": action, "level": str(level)}).record(lag)
