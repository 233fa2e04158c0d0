"""The coordinator's and the contact's pages for issue 9's checked commands, in Chromium: a
name that differs for a known fødselsnummer is flagged, a second active discharge asks for
an explicit new episode, and the forward choices are only the allowed units."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
from playwright.async_api import Page, expect
from web_steps import check_page, sign_in

from foundation.settings import Settings
from store.database import Database

from factories import DirectoryFactory, make_fodselsnummer


def norsk(day: date) -> str:
    return f"{day:%d.%m.%Y}"


async def fill(page: Page, directory: DirectoryFactory, name: str, fodselsnummer: str) -> None:
    await page.goto("/koordinator/ny")
    await page.fill("#what_matters", "Å bo hjemme.")
    await page.fill("#patient_name", name)
    await page.fill("#fodselsnummer", fodselsnummer)
    await page.select_option("#municipality_number", directory.number)
    await page.select_option("#origin_unit_id", directory.dps)
    await page.fill("#expected_discharge_date", norsk(date.today() + timedelta(days=10)))
    for consent in ("share_with_municipal_health_service", "electronic_messages"):
        await page.check(f"#consent_{consent}-ja")
    for consent in ("share_with_housing_office", "share_with_nav"):
        await page.check(f"#consent_{consent}-nei")


async def test_coordinator_is_warned_of_another_name_and_asked_for_a_new_episode(
    new_context: Callable[[], Any],
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
    app_client: httpx.AsyncClient,
) -> None:
    baerum = DirectoryFactory(db, settings)
    await baerum.create()
    fodselsnummer = make_fodselsnummer()
    known = await app_client.post(
        "/api/v1/discharges",
        json=baerum.discharge_body(patient={"fodselsnummer": fodselsnummer, "name": "Kari Hansen"}),
        headers=baerum.headers(baerum.identity.coordinator),
    )
    assert known.status_code == 201, known.text

    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.coordinator, "/koordinator/ny")
    await fill(page, directory, "Kari Olsen", fodselsnummer)
    await page.get_by_role("button", name="Start utskrivning").click()
    await expect(page).to_have_url(re.compile(r"/overganger/[0-9a-f-]+\?melding="))
    status = page.get_by_role("status")
    await expect(status.filter(has_text="Utskrivningen er startet")).to_be_visible()
    await expect(status.filter(has_text="et annet navn")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Kari Olsen")
    await expect(page.locator("body")).not_to_contain_text("Kari Hansen")
    first_url = page.url.split("?")[0]

    await fill(page, directory, "Kari Olsen", fodselsnummer)
    await page.get_by_role("button", name="Start utskrivning").click()
    error = page.locator("#new_episode-feil")
    await expect(error).to_contain_text("allerede en aktiv utskrivning")
    link = error.get_by_role("link")
    assert first_url.endswith(str(await link.get_attribute("href")))
    await check_page(page, "koordinator-ny-episode")
    await page.check("#new_episode")
    await page.get_by_role("button", name="Start utskrivning").click()
    await expect(status.filter(has_text="Utskrivningen er startet")).to_be_visible()
    assert page.url.split("?")[0] != first_url


async def test_the_contact_is_offered_only_allowed_forward_targets(
    new_context: Callable[[], Any],
    directory: DirectoryFactory,
    db: Database,
    settings: Settings,
    app_client: httpx.AsyncClient,
) -> None:
    marker = DirectoryFactory(db, settings)
    await marker.create()
    started = await app_client.post(
        "/api/v1/discharges",
        json=directory.discharge_body(),
        headers=directory.headers(directory.identity.coordinator),
    )
    assert started.status_code == 201, started.text
    task_id = started.json()["tasks"][0]["id"]
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.contact, f"/oppgaver/{task_id}")
    await page.get_by_text("Avvis eller send videre").click()
    values = await page.locator("#forward_to_unit_id option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert directory.other_unit in values and marker.intake in values
    forbidden = {directory.dps, directory.nav, directory.housing, directory.intake, marker.dps}
    assert not forbidden & set(values)
