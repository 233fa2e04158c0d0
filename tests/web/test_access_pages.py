"""The pages show exactly what the access model says, in real Chromium on the whole stack.

One world (tests/access_world.py: two municipalities, every kind of reader, transitions of
every shape) is built once for the module through the API; each test signs readers in, each in
their own browser context, and compares what the pages show with what domain.access gives
that reader for each transition (page_expectations.Model), never with texts typed by hand:
a test per relation (care, consent, oversight, emergency), a substitute during and after the
absence, a leader of another municipality and NAV without consent seeing nothing, and a
leader, a NAV contact and a substitute side by side.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from page_expectations import Model, model_now
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import delete, select
from web_steps import screenshot, sign_in

from domain.access import NON_CLINICAL_NEEDS, Part, Relation, follows_up, is_health_worker
from foundation.settings import Settings
from store.database import Database
from store.emergency import EmergencyGrantRow
from store.tables import EventRow, Membership, Municipality
from web.formatting import NEED_LABELS, TASK_KIND

from access_world import MEETING_NOTE, READY, TRANSITIONS, World, build_world, events_of
from factories import DirectoryFactory, make_fodselsnummer

RELATIVE_PHONE = "99999999"  # access_world's relative of the `full` discharge
REASON = "Pasienten er innlagt akutt og trenger oversikt over oppfølgingen nå."
pytestmark = pytest.mark.timeout(600)  # the world is built once, in the first test


@pytest.fixture(scope="module")
async def world(db: Database, settings: Settings, app_client: httpx.AsyncClient) -> World:
    return await build_world(db, settings, app_client)


async def signed_in(new_context: Callable[[], Any], w: World, persona: str) -> Page:
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await sign_in(page, w.people[persona])
    return page


# --- one transition page, as the model says ----------------------------------------------


def hidden_needs(model: Model, persona: str, label: str) -> list[str]:
    """The labels of the patient's clinical needs that the reader's parts do not show. Not
    the non-clinical ones (housing, NAV): the process shows a handover to them, sent or not;
    nor a label that a step the reader sees is named by ("LAR" in "LAR-kontakt informert")."""
    details = model.m.rows[model.id(label)].details or {}
    shown = model.needs(persona, label)
    steps = {s.id: s for t in model.w.transitions.values() for s in model.m.steps[t]}
    named = [TASK_KIND[steps[i].kind] for i in model.family_steps(persona, label)]
    needs = (details.get("needs") or {}).items()
    hidden = [NEED_LABELS[k] for k, v in needs if v and k not in {*shown, *NON_CLINICAL_NEEDS}]
    return [need for need in hidden if not any(need in name for name in named)]


def secrets(model: Model, label: str) -> dict[Part, list[str]]:
    """Texts of the transition that only a part lets through, by that part."""
    clinical = [RELATIVE_PHONE] if label == "full" else []
    clinical += [MEETING_NOTE] if label == "full" else []
    return {
        Part.IDENTITY: [model.patient_name(label)],
        Part.VOICE: [model.what_matters(label)],
        Part.CLINICAL: clinical,
    }


async def check_refused(page: Page, model: Model, persona: str, label: str, status: int) -> None:
    assert status == 403, (persona, label, status)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ingen tilgang")
    text = await page.locator("main").inner_text()
    for texts in secrets(model, label).values():
        for secret in texts:
            assert secret not in text, (persona, label, secret)
    may_open = is_health_worker(model.reader(persona), model.m.units)
    form = page.get_by_role("button", name="Åpne med nødtilgang (blålys)")
    await expect(form).to_have_count(1 if may_open else 0)


async def check_shown(page: Page, model: Model, persona: str, label: str) -> None:
    shown = model.parts(persona, label)
    main = page.locator("main")
    text = await main.inner_text()
    for part, texts in secrets(model, label).items():
        for secret in texts:
            assert (secret in text) == (part in shown), (persona, label, part, secret)
    assert "None" not in text, (persona, label)
    relations = " ".join(sorted(model.relations(persona, label)))
    await expect(page.locator("#tilgang")).to_have_attribute("data-relations", relations)
    for need in hidden_needs(model, persona, label):
        assert need not in text, (persona, label, need)
    needs = [NEED_LABELS[k] for k, v in model.needs(persona, label).items() if v]
    await expect(page.locator("#behov li")).to_have_text(needs)
    emergency = model.purpose(persona, label) == Relation.EMERGENCY
    await expect(page.locator("#nodtilgang")).to_have_count(1 if emergency else 0)
    children = {model.id(c) for c in model.children(label)} if Part.FAMILY in shown else set()
    listed = await page.locator("#overforinger li[data-transition-id]").evaluate_all(
        "items => items.map(i => i.dataset.transitionId)"
    )
    assert set(listed) == children, (persona, label)


async def check_steps_and_timeline(
    page: Page, model: Model, persona: str, label: str, after: dict[str, list[EventRow]]
) -> None:
    steps = await page.locator("#steg tbody tr[data-task-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.taskId)"
    )
    assert set(steps) == model.family_steps(persona, label), (persona, label)
    events = await page.locator("ol.og-timeline li[data-event]").evaluate_all(
        "items => items.map(i => i.dataset.event)"
    )
    # Events only ever get added: the page's are between those before and after it loaded.
    before = model.events(persona, label, model.m.events)
    assert before <= set(events) <= model.events(persona, label, after), (persona, label)


async def check_transition_page(
    page: Page, model: Model, db: Database, persona: str, label: str
) -> None:
    answer = await page.goto(f"/overganger/{model.id(label)}")
    assert answer is not None
    if not model.parts(persona, label):
        await check_refused(page, model, persona, label, answer.status)
        return
    assert answer.status == 200, (persona, label, answer.status)
    await check_shown(page, model, persona, label)
    after = await events_of(db, list(model.w.transitions.values()))
    await check_steps_and_timeline(page, model, persona, label, after)


async def check_every_transition(
    page: Page, model: Model, db: Database, persona: str, labels: list[str] | None = None
) -> None:
    for label in labels or TRANSITIONS:
        await check_transition_page(page, model, db, persona, label)


# --- the lists -------------------------------------------------------------------------


async def check_inbox(page: Page, model: Model, persona: str) -> None:
    await page.goto("/innboks")
    rows = page.locator("#innboks-rader tr[data-task-id]")
    listed = await rows.evaluate_all("rows => rows.map(r => r.dataset.taskId)")
    assert set(listed) == model.inbox(persona), persona
    for step in listed:
        label = model.label_of_step(step)
        shown = model.parts(persona, label)
        text = await page.locator(f'#innboks-rader tr[data-task-id="{step}"]').inner_text()
        assert (model.patient_name(label) in text) == (Part.IDENTITY in shown), (persona, step)
        assert (model.what_matters(label)[:40] in text) == (Part.VOICE in shown), (persona, step)
        assert "None" not in text


def linked_transitions(hrefs: list[str]) -> set[str]:
    return {m.group(1) for h in hrefs if (m := re.fullmatch(r"/overganger/([^/?]+)", h))}


async def check_stalled(page: Page, model: Model, persona: str) -> set[str]:
    await page.goto("/leder")
    hrefs = await page.locator("#stoppet tbody a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    listed = linked_transitions(hrefs)
    for label in TRANSITIONS:
        related = bool(model.parts(persona, label))
        if label in READY or not related:  # waiting after utskrivningsklar: always stalled
            assert (model.id(label) in listed) == related, (persona, label)
    response = await page.context.request.get("/leder/stoppet.csv")
    rows = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff")), delimiter=";"))
    assert {r[0] for r in rows[1:]} == listed, "the CSV has exactly the page's rows"
    return listed


async def municipality_names(db: Database, w: World) -> dict[str, str]:
    numbers = [w.home.number, w.other.number]
    async with db.transaction() as session:
        rows = await session.execute(
            select(Municipality.number, Municipality.name).where(Municipality.number.in_(numbers))
        )
        return {number: name for number, name in rows}


async def check_charts(page: Page, model: Model, db: Database, persona: str) -> None:
    """The waiting-days chart counts the ready transitions the reader has a relation to."""
    names = await municipality_names(db, model.w)
    expected = {
        names[model.m.rows[model.id(label)].municipality_number]
        for label in READY
        if model.parts(persona, label)
    }
    await page.goto("/leder/statistikk")
    figure = page.locator('figure[aria-labelledby="overliggedogn-tittel"]')
    labels = await figure.locator("table tbody td:first-child").evaluate_all(
        "cells => cells.map(c => c.textContent.trim())"  # the table is in a closed <details>
    )
    assert set(labels) & set(names.values()) == expected, persona


# --- care ------------------------------------------------------------------------------


async def test_care_the_intake_contact_and_the_coordinator_read_what_care_gives(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    for persona in ("intake_contact", "coordinator"):
        page = await signed_in(new_context, world, persona)
        await check_every_transition(page, model, db, persona)
    contact = await signed_in(new_context, world, "intake_contact")
    await check_inbox(contact, model, "intake_contact")
    await contact.goto(f"/overganger/{model.id('full')}")
    await screenshot(contact, "tilgang-behandling-1280")
    await contact.set_viewport_size({"width": 390, "height": 844})
    await screenshot(contact, "tilgang-behandling-390")


# --- consent ---------------------------------------------------------------------------


async def test_consent_nav_and_housing_read_only_their_own_handover(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    for persona in ("nav_contact", "housing_contact"):
        page = await signed_in(new_context, world, persona)
        await check_every_transition(page, model, db, persona)
        await check_inbox(page, model, persona)
    nav = await signed_in(new_context, world, "nav_contact")
    await nav.goto(f"/overganger/{model.id('full_nav')}")
    await screenshot(nav, "tilgang-samtykke-nav-1280")
    await nav.set_viewport_size({"width": 390, "height": 844})
    await screenshot(nav, "tilgang-samtykke-nav-390")


async def check_task_page(page: Page, model: Model, persona: str, step_id: str) -> None:
    label = model.label_of_step(step_id)
    shown = model.parts(persona, label)
    await page.goto(f"/oppgaver/{step_id}")
    text = await page.locator("main").inner_text()
    for part, texts in secrets(model, label).items():
        for secret in texts:
            assert (secret in text) == (part in shown), (persona, label, part, secret)
    for need in hidden_needs(model, persona, label):
        assert need not in text, (persona, label, need)
    needs = [NEED_LABELS[k] for k, v in model.needs(persona, label).items() if v]
    await expect(page.locator("#behov li")).to_have_text(needs)
    assert "None" not in text


async def test_consent_a_task_page_shows_only_what_the_consent_covers(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    """The patient of `objects` objects to sharing with the municipal health service: the
    intake reads its step under consent (no clinical needs, no voice); NAV reads its
    handover the same way."""
    model = await model_now(db, world)
    for persona, label in (("intake_contact", "objects"), ("nav_contact", "full_nav")):
        page = await signed_in(new_context, world, persona)
        for step in model.steps(persona, label):
            await check_task_page(page, model, persona, step)
    await screenshot(page, "tilgang-samtykke-oppgave")


# --- oversight -------------------------------------------------------------------------


async def test_oversight_leaders_see_the_process_not_the_patient(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    for persona in ("municipal_leader", "unit_leader", "dps_chief"):
        page = await signed_in(new_context, world, persona)
        await check_every_transition(page, model, db, persona)
        listed = await check_stalled(page, model, persona)
        await check_charts(page, model, db, persona)
        if persona == "municipal_leader":
            assert listed, "the municipal leader oversees the home municipality's ready patients"
    leader = await signed_in(new_context, world, "municipal_leader")
    await leader.goto(f"/overganger/{model.id('full')}")
    await expect(leader.locator("#tilgang")).to_contain_text("leder")
    await screenshot(leader, "tilgang-ledelse-1280")
    await leader.set_viewport_size({"width": 390, "height": 844})
    await screenshot(leader, "tilgang-ledelse-390")
    await leader.goto("/leder")
    await screenshot(leader, "tilgang-ledelse-stoppet-390")


# --- emergency -------------------------------------------------------------------------


async def test_emergency_a_refused_health_worker_opens_with_a_reason_and_a_leader_follows_up(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    granted = await signed_in(new_context, world, "emergency")  # the world's own grant
    await check_every_transition(granted, model, db, "emergency", ["objects", "full"])

    persona, label = "other_intake", "full"
    assert not model.parts(persona, label), "another municipality's contact stands outside"
    page = await signed_in(new_context, world, persona)
    await check_transition_page(page, model, db, persona, label)
    await screenshot(page, "nodtilgang-skjema-1280")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "nodtilgang-skjema-390")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.get_by_role("button", name="Åpne med nødtilgang (blålys)").click()
    await expect(page.locator("#reason-feil")).to_be_visible()
    await expect(page.locator("#reason")).to_have_attribute("aria-invalid", "true")
    await page.fill("#reason", REASON)
    await page.fill("#purpose", "legevakt")
    await page.get_by_role("button", name="Åpne med nødtilgang (blålys)").click()
    banner = page.locator("#nodtilgang")
    await expect(banner).to_contain_text("nødtilgang")
    await expect(banner).to_contain_text("logget")
    await expect(banner).to_contain_text(REASON)
    await expect(banner).to_contain_text(re.compile(r"til \d\d\.\d\d\.\d{4} kl\. \d\d:\d\d"))
    await screenshot(page, "nodtilgang-apnet-1280")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "nodtilgang-apnet-390")

    model = await model_now(db, world)  # the grant is a fact now
    assert Relation.EMERGENCY in model.relations(persona, label)
    await check_every_transition(page, model, db, persona, ["full", "full_nav", "objects"])
    await follow_up(new_context, world, db, model, persona)


async def follow_up(
    new_context: Callable[[], Any], world: World, db: Database, model: Model, grantee: str
) -> None:
    async with db.transaction() as session:
        grant = await session.scalar(
            select(EmergencyGrantRow)
            .where(EmergencyGrantRow.person_id == world.people[grantee])
            .order_by(EmergencyGrantRow.id.desc())
        )
    assert grant is not None
    origin = model.m.rows[grant.transition_id].origin_unit_id
    grantee_units = model.reader(grantee).member_of
    leaders = [p for p in ("municipal_leader", "other_leader", "dps_chief", "unit_leader")]
    expected = {
        p: follows_up(model.reader(p), grantee_units, origin, model.m.units) for p in leaders
    }
    assert any(expected.values()) and not all(expected.values())
    for persona, listed in expected.items():
        page = await signed_in(new_context, world, persona)
        await page.goto("/leder/nodtilgang?alle=ja")
        row = page.locator(f'tr[data-grant-id="{grant.id}"]')
        await expect(row).to_have_count(1 if listed else 0)
    leader = next(p for p, listed in expected.items() if listed)
    page = await signed_in(new_context, world, leader)
    await page.goto("/leder/nodtilgang")
    row = page.locator(f'tr[data-grant-id="{grant.id}"]')
    await expect(row).to_contain_text(REASON)
    await screenshot(page, "nodtilgang-oppfolging-1280")
    await row.locator("textarea").fill("Snakket med legevakten; tilgangen var berettiget.")
    await row.get_by_role("button", name="Marker som fulgt opp").click()
    await expect(page.get_by_role("status").first).to_contain_text("fulgt opp")
    await expect(row).to_have_count(0)  # no longer to follow up
    await page.goto("/leder/nodtilgang?alle=ja")
    await expect(row).to_contain_text("Fulgt opp")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "nodtilgang-oppfolging-390")


# --- substitutes -----------------------------------------------------------------------


async def test_a_substitute_reads_for_the_absent_person_only_during_the_absence(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    assert model.reader("sub_now").standing_in_for, "the absence is now"
    assert not model.reader("sub_after").standing_in_for, "the absence has ended"
    for persona in ("sub_now", "sub_after"):
        page = await signed_in(new_context, world, persona)
        await check_every_transition(page, model, db, persona)
        await check_inbox(page, model, persona)
    # Both are intake colleagues. The absent person works for the NAV office too, but a
    # substitute never crosses into another service (domain.delegation.units_stood_in_for):
    # NAV's step stays out of both inboxes, during the absence as after it.
    nav_step = next(iter(model.steps("nav_contact", "full_nav")))
    assert nav_step not in model.inbox("sub_now") and nav_step not in model.inbox("sub_after")


# --- nobody else -----------------------------------------------------------------------


async def test_another_municipality_leader_and_nav_without_consent_see_nothing(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    home = [label for label in TRANSITIONS if label != "to_other"]
    assert not any(model.parts("other_leader", label) for label in home)
    leader = await signed_in(new_context, world, "other_leader")
    await check_every_transition(leader, model, db, "other_leader")
    await check_stalled(leader, model, "other_leader")
    await check_charts(leader, model, db, "other_leader")
    await leader.goto(f"/overganger/{model.id('full')}")
    await screenshot(leader, "ingen-tilgang-annen-kommune")

    without = ("no_consent", "transfer_nav")
    assert not any(model.parts("nav_contact", label) for label in without)
    nav = await signed_in(new_context, world, "nav_contact")
    await check_every_transition(nav, model, db, "nav_contact", list(without))
    await check_inbox(nav, model, "nav_contact")


# --- side by side ----------------------------------------------------------------------


async def test_a_leader_a_nav_contact_and_a_substitute_side_by_side(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    personas = ("municipal_leader", "nav_contact", "sub_now")
    pages = {p: await signed_in(new_context, world, p) for p in personas}
    for label in ("full_nav", "full", "no_consent"):
        for persona, page in pages.items():
            await check_transition_page(page, model, db, persona, label)
    seen = {p: model.relations(p, "full_nav") for p in personas}
    assert seen["municipal_leader"] == {Relation.OVERSIGHT}
    assert Relation.CONSENT in seen["nav_contact"]
    assert seen["sub_now"] == {Relation.CARE}, "an intake colleague, never NAV by substitution"
    for persona, page in pages.items():
        await page.goto(f"/overganger/{model.id('full_nav')}")
        await screenshot(page, f"side-om-side-{persona}")


# --- notifications ---------------------------------------------------------------------


async def test_notifications_on_the_page_name_only_what_the_reader_sees(
    new_context: Callable[[], Any], world: World, db: Database
) -> None:
    model = await model_now(db, world)
    for persona in ("intake_contact", "nav_contact", "sub_now"):
        page = await signed_in(new_context, world, persona)
        await page.goto("/varsler")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Varsler")
        items = page.locator("#varsler li[data-transition-id]")
        for item in await items.all():
            t = await item.get_attribute("data-transition-id")
            label = world.label_of(t or "")
            if label is None:
                continue  # another test's transition
            assert model.parts(persona, label), (persona, label)
            for link in await item.locator("a").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))"
            ):
                step = link.rsplit("/", 1)[-1]
                if link.startswith("/oppgaver/"):
                    assert step in model.steps(persona, label), (persona, label, link)
    await screenshot(page, "varsler")


# --- the coordinator's own list --------------------------------------------------------


async def test_a_coordinator_who_left_the_unit_no_longer_lists_its_transitions(
    new_context: Callable[[], Any],
    directory: DirectoryFactory,
    db: Database,
    app_client: httpx.AsyncClient,
) -> None:
    """Having started a transition is no relation to it (domain.access): once the coordinator
    has left the DPS, their list no longer shows its patients."""
    leaving = await directory.add_person("siri", ["discharge_coordinator"], directory.dps)
    response = await app_client.post(
        "/api/v1/discharges",
        json=directory.discharge_body(
            patient={"fodselsnummer": make_fodselsnummer(), "name": "Åse Ås"}
        ),
        headers=directory.headers(leaving),
    )
    assert response.status_code == 201, response.text
    page: Page = await (await new_context()).new_page()
    await sign_in(page, leaving, "/koordinator")
    await expect(page.locator("main")).to_contain_text("Åse Ås")
    async with db.transaction() as session:
        await session.execute(delete(Membership).where(Membership.person_id == leaving))
    await page.goto("/koordinator")
    await expect(page.locator("main")).not_to_contain_text("Åse Ås")
    await page.goto(f"/overganger/{response.json()['id']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ingen tilgang")
