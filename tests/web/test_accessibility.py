"""axe-core (from npm) on every page: no serious or critical WCAG 2.1 A/AA violation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from playwright.async_api import Page, expect
from test_journeys import start_by_api
from web_steps import check_page, sign_in

from factories import DirectoryFactory, fast_levels
from polling import eventually


async def test_every_page_has_no_serious_accessibility_violations(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    await directory.set_policy(fast_levels(seconds=1.5), version=2)
    started = await start_by_api(app_client, directory)
    transition_id, task_id = started["id"], started["tasks"][0]["id"]

    anonymous: Page = await (await new_context()).new_page()
    await anonymous.goto(f"/logg-inn?q={directory.slug}")
    await check_page(anonymous, "logg-inn")

    coordinator: Page = await (await new_context()).new_page()
    await sign_in(coordinator, directory.identity.coordinator)
    await check_page(coordinator, "koordinator-mine-overganger-axe")
    await coordinator.goto("/koordinator/ny")
    await check_page(coordinator, "koordinator-ny-utskrivning")
    await coordinator.get_by_role("button", name="Start utskrivning").click()
    await expect(coordinator.locator("#feiloppsummering")).to_be_visible()
    await check_page(coordinator, "koordinator-ny-utskrivning-feil")
    await coordinator.goto(f"/overganger/{transition_id}")
    await check_page(coordinator, "overgang-koordinator")

    contact: Page = await (await new_context()).new_page()
    await sign_in(contact, directory.identity.contact)
    await check_page(contact, "kontakt-innboks")
    await contact.goto(f"/oppgaver/{task_id}")
    await check_page(contact, "kontakt-oppgave")

    leader: Page = await (await new_context()).new_page()
    await sign_in(leader, directory.identity.municipal_leader)

    async def listed() -> bool:
        await leader.goto(f"/leder?kommune={directory.number}")
        return await leader.locator("#stoppet tbody tr").count() > 0

    await eventually(listed, timeout=30, interval=1, what="a stalled transition")
    await check_page(leader, "leder-stoppede-overganger-axe")
    await leader.goto(f"/overganger/{transition_id}")
    await check_page(leader, "leder-tidslinje-axe")
    await leader.goto("/leder/statistikk")
    await expect(leader.locator("figure")).to_have_count(4)
    await check_page(leader, "leder-statistikk")
    await leader.goto("/leder/nodtilgang?alle=ja")
    await check_page(leader, "leder-nodtilganger-axe")
    await leader.goto("/varsler")
    await check_page(leader, "varsler-axe")

    outsider: Page = await (await new_context()).new_page()
    await sign_in(outsider, directory.identity.outsider)
    await outsider.goto(f"/oppgaver/{task_id}")
    await check_page(outsider, "ingen-tilgang-axe")
    # A health worker outside the relation: refused, offered emergency access (blålys).
    await outsider.goto(f"/overganger/{transition_id}")
    await check_page(outsider, "nodtilgang-skjema-axe")
    await outsider.get_by_role("button", name="Åpne med nødtilgang (blålys)").click()
    await expect(outsider.locator("#reason-feil")).to_be_visible()
    await check_page(outsider, "nodtilgang-skjema-feil-axe")
    await outsider.fill("#reason", "Innlagt akutt, trenger oversikt over oppfølgingen.")
    await outsider.get_by_role("button", name="Åpne med nødtilgang (blålys)").click()
    await expect(outsider.locator("#nodtilgang")).to_be_visible()
    await check_page(outsider, "nodtilgang-apnet-axe")
