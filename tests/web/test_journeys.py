"""The three user groups' journeys in real headless Chromium, against the whole stack."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page, expect
from web_steps import check_page, screenshot, sign_in

from store.database import Database
from store.tables import Membership, Person

from factories import DirectoryFactory, fast_levels, make_fodselsnummer
from polling import eventually

ARRIVAL_TIMEOUT_MS = 30_000


def norsk(day: date) -> str:
    """As people here type dates: 24.12.2026."""
    return f"{day:%d.%m.%Y}"


async def fill_discharge_form(page: Page, directory: DirectoryFactory, patient: str) -> None:
    await page.fill("#what_matters", "Å få bo i egen leilighet og komme tilbake på jobb.")
    await page.fill("#patient_name", patient)
    await page.fill("#fodselsnummer", make_fodselsnummer())
    await page.select_option("#municipality_number", directory.number)
    await page.select_option("#origin_unit_id", directory.dps)
    await page.fill("#expected_discharge_date", norsk(date.today() + timedelta(days=10)))
    await page.check("#need_housing")
    for consent in ("share_with_municipal_health_service", "electronic_messages"):
        await page.check(f"#consent_{consent}-ja")
    for consent in ("share_with_housing_office", "share_with_nav"):
        await page.check(f"#consent_{consent}-nei")


async def start_by_api(http: httpx.AsyncClient, directory: DirectoryFactory) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/discharges",
        json=directory.discharge_body(),
        headers=directory.headers(directory.identity.coordinator),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_discharge_arrives_in_the_inbox_and_is_accepted(
    new_context: Callable[[], Any], directory: DirectoryFactory
) -> None:
    patient = f"Per Pasient {directory.slug}"
    contact: Page = await (await new_context()).new_page()
    await sign_in(contact, directory.identity.contact)
    await expect(contact).to_have_url(re.compile(r"/innboks$"))
    await expect(contact.get_by_text("Ingen åpne oppgaver.")).to_be_visible()
    await contact.evaluate("window.notReloaded = true")

    coordinator: Page = await (await new_context()).new_page()
    await sign_in(coordinator, directory.identity.coordinator)
    await coordinator.get_by_role("link", name="Ny utskrivning").first.click()
    await fill_discharge_form(coordinator, directory, patient)
    await screenshot(coordinator, "koordinator-ny-utskrivning-utfylt")
    await coordinator.get_by_role("button", name="Start utskrivning").click()
    await expect(coordinator.get_by_role("status")).to_contain_text("Utskrivningen er startet")
    await expect(coordinator.get_by_role("heading", level=1)).to_contain_text(patient)

    row = contact.locator("#innboks-rader tr[data-task-id]")
    await expect(row).to_have_count(1, timeout=ARRIVAL_TIMEOUT_MS)
    await expect(contact.locator("#nye-oppgaver")).to_contain_text(
        f"Ny oppgave i innboksen: {patient}"
    )
    assert await contact.evaluate("window.notReloaded") is True, "the inbox page was reloaded"
    await expect(row).to_contain_text("Ikke kvittert")
    await screenshot(contact, "kontakt-innboks-ny-oppgave")

    await contact.get_by_role("link", name=patient).click()
    headings = await contact.get_by_role("heading", level=2).all_inner_texts()
    assert headings.index("Hva er viktig for pasienten") < headings.index(
        "Dette blir enheten bedt om"
    ), headings
    await contact.get_by_role("button", name="Kvitter for mottak").click()
    await expect(contact.get_by_role("status")).to_contain_text("Du har kvittert for mottak.")
    await expect(contact.locator("#oppgavestatus")).to_have_text("Kvittert")
    await contact.get_by_role("button", name="Ta imot").click()
    await expect(contact.locator("#oppgavestatus")).to_have_text("Tatt imot")
    await screenshot(contact, "kontakt-oppgave-tatt-imot")

    await coordinator.goto("/koordinator")
    card = coordinator.locator("section", has_text=patient)
    await expect(card).to_contain_text("Tatt imot")
    await screenshot(coordinator, "koordinator-mine-overganger")


async def test_leader_sees_an_escalated_transition_and_its_timeline(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    await directory.set_policy(fast_levels(seconds=1.5), version=2)
    started = await start_by_api(app_client, directory)
    context: BrowserContext = await new_context()
    leader = await context.new_page()
    await sign_in(leader, directory.identity.municipal_leader)
    listing = f"/leder?kommune={directory.number}&arsak=escalated"

    async def escalated_row() -> bool:
        await leader.goto(listing)
        return await leader.locator("#stoppet tbody tr").count() == 1

    await eventually(escalated_row, timeout=30, interval=1, what="an escalated row")
    row = leader.locator("#stoppet tbody tr")
    await expect(row).to_contain_text("Eskalert (nivå")
    await expect(row).to_contain_text("Frist passert")
    await screenshot(leader, "leder-stoppede-overganger")

    csv = await context.request.get(
        f"/leder/stoppet.csv?kommune={directory.number}&arsak=escalated"
    )
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    lines = (await csv.text()).lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("Overgang;Type;Kommune")
    assert [line.split(";")[0] for line in lines[1:]] == [started["id"]]

    await row.get_by_role("link").click()
    timeline = leader.locator("ol.og-timeline")
    await expect(timeline).to_contain_text("Overgangen ble startet")
    await expect(timeline).to_contain_text("Eskalert")
    await screenshot(leader, "leder-tidslinje")


async def test_validation_messages_are_shown_at_the_field(
    new_context: Callable[[], Any], directory: DirectoryFactory
) -> None:
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.coordinator, "/koordinator/ny")
    await page.fill("#patient_name", "Per Pasient")
    await page.fill("#fodselsnummer", "12345678901")
    response_holder: list[int] = []
    page.on(
        "response",
        lambda r: response_holder.append(r.status) if r.request.method == "POST" else None,
    )
    await page.get_by_role("button", name="Start utskrivning").click()
    await expect(page.locator("#feiloppsummering")).to_be_focused()
    assert 422 in response_holder

    for field in ("what_matters", "fodselsnummer", "municipality_number"):
        message = page.locator(f"#{field}-feil")
        await expect(message).to_be_visible()
        await expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
        described = await page.locator(f"#{field}").get_attribute("aria-describedby") or ""
        assert f"{field}-feil" in described.split(), (field, described)
    await expect(page.locator("#fodselsnummer-feil")).to_have_text(
        "Skriv et gyldig fødselsnummer eller D-nummer med 11 siffer."
    )
    await expect(page.locator("#consent_share_with_nav-feil")).to_have_text(
        "Velg ja eller nei: dele nødvendige opplysninger med NAV."
    )
    await expect(page.locator("#patient_name")).to_have_value("Per Pasient")
    await screenshot(page, "koordinator-skjema-med-feil")

    await fill_discharge_form(page, directory, "Per Pasient")
    await page.fill("#expected_discharge_date", norsk(date.today() - timedelta(days=3)))
    await page.get_by_role("button", name="Start utskrivning").click()
    await expect(page.locator("#expected_discharge_date-feil")).to_have_text(
        "Forventet utskrivningsdato kan ikke være tilbake i tid."
    )
    await expect(page.locator("#what_matters-feil")).to_have_count(0)


async def test_a_task_of_another_unit_is_forbidden(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    started = await start_by_api(app_client, directory)
    task_id = started["tasks"][0]["id"]
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await sign_in(page, directory.identity.outsider)
    response = await page.goto(f"/oppgaver/{task_id}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ingen tilgang")
    await expect(page.locator("main")).to_contain_text("Du har ikke tilgang til denne oppgaven")
    await screenshot(page, "ingen-tilgang")

    refused = await context.request.post(f"/oppgaver/{task_id}/kvitter", form={})
    assert refused.status == 400, "a form without the CSRF token must be refused"


async def test_coordinator_drives_the_discharge_and_the_municipality_records_first_contact(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    started = await start_by_api(app_client, directory)
    page_path = f"/overganger/{started['id']}"
    coordinator: Page = await (await new_context()).new_page()
    await sign_in(coordinator, directory.identity.coordinator, page_path)
    await coordinator.get_by_role("button", name="Meld utskrivningsklar").click()
    await expect(coordinator.get_by_role("status")).to_contain_text("meldt utskrivningsklar")
    await expect(coordinator.locator("dl.og-facts")).to_contain_text("Utskrivningsklar")
    await coordinator.get_by_role("button", name="Registrer utskrevet").click()
    await expect(coordinator.get_by_role("status")).to_contain_text("registrert som utskrevet")
    await expect(coordinator.locator("ol.og-timeline")).to_contain_text("Utskrevet")
    await screenshot(coordinator, "koordinator-utskrevet")

    contact: Page = await (await new_context()).new_page()
    await sign_in(contact, directory.identity.contact, page_path)
    await contact.fill("#contacted_on", norsk(date.today()))
    await contact.fill("#contact_note", "Hjemmebesøk, avtalt ny time neste uke.")
    await contact.get_by_role("button", name="Registrer første kontakt").click()
    await expect(contact.get_by_role("status")).to_contain_text("Første kontakt")
    await expect(contact.locator("ol.og-timeline")).to_contain_text(
        "Oppfølging etter utskrivning registrert"
    )
    await screenshot(contact, "kontakt-forste-kontakt")


async def test_cancel_needs_a_reason_at_the_field(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    started = await start_by_api(app_client, directory)
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.coordinator, f"/overganger/{started['id']}")
    await page.get_by_text("Avmeld overgangen").click()
    await page.get_by_role("button", name="Avmeld", exact=True).click()
    await expect(page.locator("#reason-feil")).to_have_text("Skriv hvorfor overgangen avmeldes.")
    await expect(page.locator("#reason")).to_have_attribute("aria-invalid", "true")
    await page.fill("#reason", "Pasienten er reinnlagt på sykehus.")
    await page.get_by_role("button", name="Avmeld", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("Overgangen er avmeldt")
    await expect(page.locator("dl.og-facts")).to_contain_text("Avlyst")


async def test_contact_sets_an_absence_with_a_substitute(
    new_context: Callable[[], Any], directory: DirectoryFactory
) -> None:
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.contact, "/fravaer")
    await page.get_by_role("button", name="Registrer fravær").click()
    await expect(page.locator("#substitute_id-feil")).to_be_visible()
    first = date.today() + timedelta(days=1)
    await page.fill("#starts_on", norsk(first))
    await page.fill("#ends_on", norsk(first + timedelta(days=6)))
    await page.select_option("#substitute_id", directory.identity.backup)
    await page.get_by_role("button", name="Registrer fravær").click()
    await expect(page.get_by_role("status")).to_contain_text("Fraværet er registrert")
    row = page.locator("table tbody tr").first
    await expect(row).to_contain_text("Vera Vara")
    await expect(row).to_contain_text(f"{first:%d.%m.%Y} kl. 00:00")
    await screenshot(page, "kontakt-fravaer")


async def test_contact_forwards_with_a_reason_and_completes_with_a_note(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    started = await start_by_api(app_client, directory)
    task_id = started["tasks"][0]["id"]
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.contact, f"/oppgaver/{task_id}")
    await page.get_by_text("Avvis eller send videre").click()
    await page.get_by_role("button", name="Avvis").click()
    await expect(page.locator("#reason-feil")).to_have_text("Skriv en begrunnelse.")
    await page.fill("#reason", "Hjemmetjenesten følger opp pasienten fra før.")
    await page.select_option("#forward_to_unit_id", directory.other_unit)
    await page.get_by_role("button", name="Avvis").click()
    # Rejected and forwarded, the step is the next unit's: back to the inbox, without it.
    await expect(page.get_by_role("status").first).to_contain_text("Oppgaven er avvist")
    await expect(page.locator(f'#innboks-rader tr[data-task-id="{task_id}"]')).to_have_count(0)

    outsider: Page = await (await new_context()).new_page()
    await sign_in(outsider, directory.identity.outsider)
    forwarded = outsider.locator("#innboks-rader tr[data-task-id]")
    await expect(forwarded).to_have_count(1)
    await forwarded.get_by_role("link").click()
    await outsider.get_by_role("button", name="Ta imot").click()
    await expect(outsider.locator("#oppgavestatus")).to_have_text("Tatt imot")
    await outsider.fill("#note", "Første hjemmebesøk er avtalt.")
    await outsider.get_by_role("button", name="Fullfør oppgaven").click()
    await expect(outsider.locator("#oppgavestatus")).to_have_text("Fullført")
    await outsider.get_by_role("link", name="Se hele overgangen og tidslinjen").click()
    timeline = outsider.locator("ol.og-timeline")
    await expect(timeline).to_contain_text("Videresendt")
    await expect(timeline).to_contain_text("Hjemmetjenesten følger opp pasienten fra før.")
    await screenshot(outsider, "kontakt-videresendt-og-fullfort")


async def add_lar_consultant(db: Database, directory: DirectoryFactory) -> str:
    person_id = f"{directory.slug}-lar"
    async with db.transaction() as session:
        session.add(Person(id=person_id, name="Lise LAR-konsulent", roles=["lar_consultant"]))
        await session.flush()
        session.add(Membership(person_id=person_id, unit_id=directory.dps))
    return person_id


async def test_lar_consultant_proposes_a_plan_change_the_municipality_is_asked(
    new_context: Callable[[], Any], directory: DirectoryFactory, db: Database
) -> None:
    consultant = await add_lar_consultant(db, directory)
    page: Page = await (await new_context()).new_page()
    await sign_in(page, consultant, "/koordinator/lar-endring")
    await page.get_by_role("button", name="Foreslå LAR-endring").click()
    await expect(page.locator("#dose-feil")).to_contain_text("Skriv legemiddel og dose")
    await expect(page.locator("#dose")).to_have_attribute("aria-invalid", "true")
    await check_page(page, "lar-endring-feil")

    await page.fill("#what_matters", "Å kunne hente medisinen etter jobb.")
    await page.fill("#patient_name", f"Lars LAR {directory.slug}")
    await page.fill("#fodselsnummer", make_fodselsnummer())
    await page.select_option("#municipality_number", directory.number)
    await page.select_option("#origin_unit_id", directory.dps)
    await page.fill("#dose", "metadon 90 mg")
    await page.select_option("#dispensing_unit_id", directory.intake)
    await page.fill("#dispensing_site", "Kommunens utleveringssted")
    await page.fill("#pick_up_regime", "to ganger i uken")
    await page.fill("#take_home_doses", "3")
    await page.fill("#reason", "Stabil i et halvt år; ny jobb med faste arbeidstider.")
    await page.fill("#effective_date", norsk(date.today() + timedelta(days=14)))
    await page.get_by_role("button", name="Foreslå LAR-endring").click()
    await expect(page.get_by_role("status")).to_contain_text("LAR-endringen er foreslått")
    await screenshot(page, "lar-endring-foreslatt")

    contact: Page = await (await new_context()).new_page()
    await sign_in(contact, directory.identity.contact)
    await expect(contact.locator("#innboks-rader")).to_contain_text(
        "Kommunen konsultert om LAR-endring"
    )
    await contact.get_by_role("link", name=f"Lars LAR {directory.slug}").click()
    await expect(contact.locator("main")).to_contain_text("metadon 90 mg")
    await contact.get_by_role("button", name="Send svar").click()
    await expect(contact.locator("#agree-feil")).to_have_text(
        "Velg om kommunen er enig i endringen."
    )
    await contact.check("#agree-ja")
    await contact.fill("#comment", "Enig. Utleveringsstedet har plass tirsdager og fredager.")
    await contact.get_by_role("button", name="Send svar").click()
    await expect(contact.get_by_role("status")).to_contain_text("Svaret er sendt til LAR-legen.")
    await screenshot(contact, "kontakt-lar-svar")


async def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching selector has the focus (keyboard only)."""
    target = page.locator(selector)
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector} was not reachable with Tab")


async def test_a_task_is_acknowledged_with_the_keyboard_alone(
    new_context: Callable[[], Any], directory: DirectoryFactory, app_client: httpx.AsyncClient
) -> None:
    started = await start_by_api(app_client, directory)
    task_id = started["tasks"][0]["id"]
    page: Page = await (await new_context()).new_page()
    await sign_in(page, directory.identity.contact)

    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Hopp til hovedinnhold")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_visible()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()

    await tab_to(page, f'a[href="/oppgaver/{task_id}"]')
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Hva er viktig for pasienten")).to_be_visible()
    await tab_to(page, 'button:has-text("Kvitter for mottak")')
    await page.keyboard.press("Enter")
    await expect(page.locator("#oppgavestatus")).to_have_text("Kvittert")
