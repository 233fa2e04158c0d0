"""A meeting that was held and a first contact that happened cannot be dated after today in
Norway: the API refuses such a date with a 422 naming the field, before the workflow sees it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from domain.calendar import OSLO

from factories import DirectoryFactory, start_discharge


def tomorrow_in_norway() -> str:
    return (datetime.now(OSLO).date() + timedelta(days=1)).isoformat()


def refused_field(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert "future" in error["message"]
    return str(error["field"])


async def accepted_discharge(http: httpx.AsyncClient, directory: DirectoryFactory) -> str:
    started: dict[str, Any] = await start_discharge(http, directory)
    intake = started["tasks"][0]["id"]
    contact = directory.headers(directory.identity.contact)
    for command in ("acknowledge", "accept"):
        response = await http.post(f"/api/v1/tasks/{intake}/{command}", headers=contact)
        assert response.status_code == 200, response.text
    return str(started["id"])


async def test_a_meeting_held_tomorrow_is_refused_with_the_field_named(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    transition_id = await accepted_discharge(app_client, directory)
    response = await app_client.post(
        f"/api/v1/transitions/{transition_id}/meeting",
        json={"held_on": tomorrow_in_norway(), "participants": ["DPS", "kommunen"]},
        headers=directory.headers(directory.identity.coordinator),
    )
    assert refused_field(response) == "held_on"


async def test_a_first_contact_tomorrow_is_refused_with_the_field_named(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    transition_id = await accepted_discharge(app_client, directory)
    coordinator = directory.headers(directory.identity.coordinator)
    base = f"/api/v1/transitions/{transition_id}"
    assert (await app_client.post(f"{base}/discharged", headers=coordinator)).status_code == 200
    response = await app_client.post(
        f"{base}/first-contact",
        json={"contacted_on": tomorrow_in_norway()},
        headers=directory.headers(directory.identity.contact),
    )
    assert refused_field(response) == "contacted_on"
