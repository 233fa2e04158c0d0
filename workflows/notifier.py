"""Notices from a workflow: what to send (a NotificationRequest), and what came of it.

Every delivery is on the timeline (``notified``) and so is every failure
(``notification_failed``: channel, recipient, what the server said); a recipient a channel
failed is tried on the level's next channel, in-app at least. Notices go out in the
background (supervised): nobody's answer waits for an e-mail server, and continue-as-new
and completion wait until they are done.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.escalation import Recipient
    from domain.notifications import (
        NotificationReason,
        NotificationReceipt,
        NotificationRequest,
        fallbacks,
    )
    from domain.tasks import Task
    from domain.timeline import EventKind
    from domain.transition import TransitionCore
    from workflows import activity_stubs as stubs
    from workflows.projection import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, Projector
    from workflows.supervision import Supervisor


class Notifier:
    def __init__(self, core: TransitionCore, supervisor: Supervisor, projector: Projector) -> None:
        self.core = core
        self.supervisor = supervisor
        self.projector = projector

    def request_for(
        self,
        task: Task,
        reason: NotificationReason,
        level: int,
        recipients: tuple[Recipient, ...],
        occasion: int = 0,
    ) -> NotificationRequest:
        """`occasion` keeps each notice's delivery key distinct (a reminder's number, ...)."""
        return NotificationRequest(
            key=f"{task.id}:{reason.value}:{level}:{occasion}",
            transition_id=self.core.transition_id,
            task_id=task.id,
            task_kind=task.kind,
            owner_unit_id=task.owner_unit_id,
            origin_unit_id=self.core.origin_unit_id,
            municipality_number=self.core.municipality_number,
            reason=reason,
            level=level,
            recipients=recipients,
            channels=task.policy.levels[level].channels,
        )

    def send_in_background(
        self, request: NotificationRequest, after: Callable[[], None] | None = None
    ) -> None:
        """Send, and call `after` once the notice has gone out (before any fallback)."""
        self.supervisor.run(f"notice {request.key}", self._deliver(request, after=after))

    async def send_and_wait(self, request: NotificationRequest) -> None:
        """How runs that began before NOTICES_IN_BACKGROUND send: inline, failures unread."""
        receipt = await self._notify(request)
        self._record_deliveries(request, receipt, ())
        await self.projector.flush()

    async def _deliver(
        self,
        request: NotificationRequest,
        instead_of: tuple[str, ...] = (),
        after: Callable[[], None] | None = None,
    ) -> None:
        receipt = await self._notify(request)
        self._record_deliveries(request, receipt, instead_of)
        self._record_failures(request, receipt)
        self.projector.flush_in_background()
        if after is not None:
            after()
        for fallback in fallbacks(request, receipt):
            await self._deliver(fallback.request, tuple(c.value for c in fallback.instead_of))

    async def _notify(self, request: NotificationRequest) -> NotificationReceipt:
        return await workflow.execute_activity(
            stubs.notify,
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    def _record_deliveries(
        self,
        request: NotificationRequest,
        receipt: NotificationReceipt,
        instead_of: tuple[str, ...],
    ) -> None:
        extra = {"fallback_for": ",".join(instead_of)} if instead_of else {}
        for delivery in receipt.deliveries:
            attempts = {"attempts": str(delivery.attempts)} if delivery.attempts > 1 else {}
            self.core.record(
                workflow.now(),
                EventKind.NOTIFIED,
                task_id=request.task_id,
                channel=delivery.channel.value,
                person_id=delivery.person_id or "",
                unit_id=delivery.unit_id or "",
                reason=request.reason.value,
                level=str(request.level),
                sent_at=delivery.sent_at.isoformat() if delivery.sent_at else "",
                on_behalf_of=delivery.on_behalf_of or "",
                **attempts,
                **extra,
            )

    def _record_failures(self, request: NotificationRequest, receipt: NotificationReceipt) -> None:
        for failure in receipt.failures:
            self.core.record(
                workflow.now(),
                EventKind.NOTIFICATION_FAILED,
                task_id=request.task_id,
                channel=failure.channel.value,
                person_id=failure.person_id or "",
                unit_id=failure.unit_id or "",
                reason=request.reason.value,
                level=str(request.level),
                error=failure.error,
                attempts=str(failure.attempts),
            )
