"""What the workflows call, without importing the activities that do it.

Each stub has the name, the argument and the result of one activity the worker registers
(worker.activities_for), so `workflow.execute_activity(stub, ...)` is typed and schedules
that activity by name. The activities pull in SQLAlchemy, aiosmtplib, httpx and their
options; through the stubs the workflow sandbox imports none of that.
tests/workflows/test_activity_stubs.py checks each stub against the registered activity.
"""

from __future__ import annotations

from typing import NoReturn

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from domain.escalation import EscalationPolicy
    from domain.notifications import NotificationReceipt, NotificationRequest, PolicyQuery
    from domain.transition import Projection, TransitionRecord


def _runs_in_the_worker(name: str) -> NoReturn:
    raise NotImplementedError(f"{name} is a reference: the worker runs the activity")


@activity.defn(name="register_transition")
async def register_transition(record: TransitionRecord) -> None:
    """activities.read_model.ReadModelActivities.register_transition"""
    _runs_in_the_worker("register_transition")


@activity.defn(name="project")
async def project(projection: Projection) -> None:
    """activities.read_model.ReadModelActivities.project"""
    _runs_in_the_worker("project")


@activity.defn(name="load_escalation_policy")
async def load_escalation_policy(query: PolicyQuery) -> EscalationPolicy:
    """activities.directory.DirectoryActivities.load_escalation_policy"""
    _runs_in_the_worker("load_escalation_policy")


@activity.defn(name="notify")
async def notify(request: NotificationRequest) -> NotificationReceipt:
    """activities.notifications.NotificationActivities.notify"""
    _runs_in_the_worker("notify")


ALL = (register_transition, project, load_escalation_policy, notify)
