"""Administrators list the notifications that did not go out (issue 12, no. 4), newest
first and a page at a time; nobody else sees them."""

from __future__ import annotations

import uuid

import httpx
from temporalio.testing import ActivityEnvironment

from domain.escalation import Channel, Recipient
from domain.notifications import NotificationReason, NotificationRequest
from domain.tasks import TaskKind
from foundation.settings import Settings
from overgang.embedded import free_port
from store.database import Database
from store.tables import Person
from worker import notification_activities

from factories import DirectoryFactory


async def an_administrator(db: Database, directory: DirectoryFactory) -> str:
    person_id = f"{directory.slug}-admin"
    async with db.transaction() as session:
        await session.merge(Person(id=person_id, name="Ada Admin", roles=["administrator"]))
    return person_id


async def a_failed_email(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, settings: Settings
) -> str:
    """One e-mail to the intake contact that cannot go out; its task id."""
    response = await app_client.post(
        "/api/v1/discharges",
        json=directory.discharge_body(),
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 201, response.text
    started = response.json()
    request = NotificationRequest(
        key=f"{started['tasks'][0]['id']}:failure-{uuid.uuid4().hex[:8]}",
        transition_id=started["id"],
        task_id=started["tasks"][0]["id"],
        task_kind=TaskKind.MUNICIPAL_INTAKE,
        owner_unit_id=directory.intake,
        origin_unit_id=directory.dps,
        municipality_number=directory.number,
        reason=NotificationReason.ESCALATION,
        level=1,
        recipients=(Recipient.OWNER_UNIT,),
        channels=(Channel.EMAIL,),
    )
    no_smtp = settings.model_copy(update={"smtp_port": free_port()})
    activities = notification_activities(db, no_smtp)
    receipt = await ActivityEnvironment().run(activities.notify, request)
    assert len(receipt.failures) == 1
    return request.task_id


async def test_administrators_page_through_failed_deliveries_newest_first(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, db: Database, settings: Settings
) -> None:
    task_ids = [await a_failed_email(app_client, directory, db, settings) for _ in range(3)]
    admin = directory.headers(await an_administrator(db, directory))
    url = "/api/v1/notifications/failures"

    first = await app_client.get(url, params={"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [f["task_id"] for f in page["items"]] == task_ids[:0:-1]
    second = await app_client.get(
        url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin
    )
    assert second.json()["items"][0]["task_id"] == task_ids[0]
    newest = page["items"][0]
    assert newest["channel"] == "email" and newest["person_id"] == directory.identity.contact
    assert newest["reason"] == "escalation" and newest["level"] == 1
    assert newest["error"].startswith("SMTPConnectError") and newest["attempts"] >= 1
    assert newest["failed_at"]

    metrics = (await app_client.get("/metrics")).text
    assert 'overgang_notification_failures_total{channel="email",reason="unreachable"}' in metrics

    contact = directory.headers(directory.identity.contact)
    refused = await app_client.get(url, headers=contact)
    assert refused.status_code == 403
    assert "administrators" in refused.json()["detail"]
