"""The link in a task's e-mail and webhook delivery opens that task's page for its contact
(the link used to point at a path no page serves, so every e-mail led to a 404)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Page, expect
from test_journeys import start_by_api
from web_steps import sign_in

from activities.email_channel import compose
from activities.webhook_channel import payload
from domain.notifications import Channel, NotificationReason, NotificationRequest, Recipient
from domain.tasks import TaskKind
from foundation.settings import Settings
from worker import email_options

from factories import DirectoryFactory


def new_task_mail(settings: Settings, directory: DirectoryFactory, task_id: str) -> str:
    """The e-mail body a contact gets for a new intake, as the e-mail channel composes it."""
    request = NotificationRequest(
        key=f"{task_id}:new_task:0",
        transition_id="t",
        task_id=task_id,
        task_kind=TaskKind.MUNICIPAL_INTAKE,
        owner_unit_id=directory.intake,
        origin_unit_id=directory.dps,
        municipality_number=directory.number,
        reason=NotificationReason.NEW_TASK,
        level=0,
        recipients=(Recipient.OWNER_UNIT,),
        channels=(Channel.EMAIL, Channel.WEBHOOK),
    )
    message = compose(email_options(settings), request, "kontakt@example.no")
    link = next(w for w in message.get_content().split() if w.startswith("http"))
    delivery = json.loads(payload(settings.api_base_url, request, "delivery"))
    assert delivery["link"] == link, "e-mail and webhook link the same page"
    return urlsplit(link).path


async def test_the_link_in_a_task_mail_opens_the_task(
    new_context: Callable[[], Any],
    directory: DirectoryFactory,
    app_client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    task_id = (await start_by_api(app_client, directory))["tasks"][0]["id"]
    path = new_task_mail(settings, directory, task_id)
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.contact)
    response = await page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    assert urlsplit(page.url).path == f"/oppgaver/{task_id}"
    await expect(page.get_by_role("button", name="Kvitter for mottak")).to_be_visible()


async def test_a_link_in_an_older_mail_still_leads_to_the_task(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    """Mail already sent named /tasks/{id}; the page now answers it with the task page."""
    task_id = (await start_by_api(app_client, directory))["tasks"][0]["id"]
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.contact)
    response = await page.goto(f"/tasks/{task_id}")
    assert response is not None and response.status == 200
    assert urlsplit(page.url).path == f"/oppgaver/{task_id}"
