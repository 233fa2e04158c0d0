"""On a phone (390 px wide) the pages fit the screen: nothing to scroll sideways on the
absences page, the leader's charts or the caught mail (each overflowed before)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.async_api import Page
from test_caught_mail_page import catch
from test_journeys import start_by_api
from web_steps import screenshot, sign_in

from foundation.settings import Settings

from factories import DirectoryFactory

PHONE = {"width": 390, "height": 844}


async def overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0 when it fits)."""
    wide: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return wide


async def on_a_phone(new_context: Callable[[], Any], person_id: str, path: str) -> Page:
    page: Page = await (await new_context()).new_page()
    await page.set_viewport_size(PHONE)
    await sign_in(page, person_id, path)
    await page.wait_for_load_state("networkidle")
    return page


async def test_the_absences_page_fits_a_phone(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    who = directory.identity
    now = datetime.now(UTC)
    period = {
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=9)).isoformat(),
        "substitute_id": who.backup,
    }
    made = await app_client.post(
        "/api/v1/absences", json=period, headers=directory.headers(who.contact)
    )
    assert made.status_code == 201, made.text
    page = await on_a_phone(new_context, who.contact, "/fravaer")
    await screenshot(page, "fravaer-390")
    assert await page.locator("table tbody tr").count() == 1
    assert await overflow(page) == 0


async def test_the_leaders_charts_fit_a_phone(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    await start_by_api(app_client, directory)
    page = await on_a_phone(new_context, directory.identity.municipal_leader, "/leder/statistikk")
    await screenshot(page, "statistikk-390")
    assert await page.locator("figure.og-chart").count() > 0
    assert await overflow(page) == 0
    # Every label and value is as tall as body text, not a drawing scaled down to fit.
    heights: list[float] = await page.locator(
        "figure.og-chart :is(.og-bar-label, .og-bar-value, text)"
    ).evaluate_all("nodes => nodes.map(n => n.getBoundingClientRect().height)")
    assert heights, "the charts show their labels"
    assert min(heights) >= 14, heights


async def test_the_caught_mail_fits_a_phone(
    new_context: Callable[[], Any], directory: DirectoryFactory, settings: Settings
) -> None:
    catch(settings, "Eskalert oppgave: kommunens mottak av utskrivningsklar pasient", "a@b.no")
    admin = await directory.add_person("drift-mobil", ["administrator"], directory.intake)
    page = await on_a_phone(new_context, admin, "/drift/epost")
    await screenshot(page, "drift-epost-390")
    assert await overflow(page) == 0
