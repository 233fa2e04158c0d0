"""The figures a leader reads about one transition are the same wherever they are shown: the
stalled list (API and page), its CSV, the transition itself, the charts and Temporal's own
search attributes."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from virtual_stack import VirtualStack

from domain.calendar import OSLO
from domain.waiting_days import days_so_far
from foundation.settings import Settings
from workflows.search_attributes import BOUNCE_COUNT

from factories import DirectoryFactory, start_discharge, transition_detail
from polling import eventually


async def stalled_item(
    http: httpx.AsyncClient, directory: DirectoryFactory, transition_id: str
) -> dict[str, Any] | None:
    """The transition's row in the leader's stalled report, if it is there."""
    leader = directory.headers(directory.identity.municipal_leader)
    response = await http.get(
        "/api/v1/audit/stalled", params={"municipality": directory.number}, headers=leader
    )
    assert response.status_code == 200, response.text
    return next((i for i in response.json() if i["transition_id"] == transition_id), None)


async def forward(
    http: httpx.AsyncClient, directory: DirectoryFactory, task_id: str, by: str, to_unit: str
) -> None:
    response = await http.post(
        f"/api/v1/tasks/{task_id}/reject",
        json={"reason": "Ikke vårt ansvar", "forward_to_unit_id": to_unit},
        headers=directory.headers(by),
    )
    assert response.status_code == 200, response.text


async def open_intake(
    http: httpx.AsyncClient, directory: DirectoryFactory, transition_id: str
) -> dict[str, Any]:
    body = await transition_detail(http, directory, transition_id)
    return next(t for t in body["tasks"] if t["status"] == "requested")


async def test_three_forwards_of_one_intake_are_three_bounces(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, temporal: Client
) -> None:
    """A forwarded step carries its whole chain of earlier owners: the transition has
    bounced as often as its longest chain is long, not the sum over the chain's steps."""
    started = await start_discharge(app_client, directory)
    # An intake carries health information: it bounces between the municipality's health
    # services (domain.delegation.forward_refusal), back and forth.
    chain = [
        (directory.identity.contact, directory.other_unit),
        (directory.identity.outsider, directory.intake),
        (directory.identity.contact, directory.other_unit),
    ]
    for by, to_unit in chain:
        task = await open_intake(app_client, directory, started["id"])
        await forward(app_client, directory, task["id"], by, to_unit)
    last = await open_intake(app_client, directory, started["id"])
    assert (last["owner_unit_id"], last["bounce_count"]) == (directory.other_unit, 3)

    async def bounced() -> dict[str, Any] | None:
        item = await stalled_item(app_client, directory, started["id"])
        return item if item and "bounced" in item["reasons"] else None

    item = await eventually(bounced, what="the bounced transition in the stalled report")
    assert item["bounces"] == 3
    described = await temporal.get_workflow_handle(started["workflow_id"]).describe()
    assert described.typed_search_attributes.get(BOUNCE_COUNT) == 3


# --- overliggedøgn and the follow-up window, in virtual time --------------------------------

FOLLOW_UP_WITHIN = timedelta(days=3)  # this agreement's window, shorter than the default 7
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def virtual_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"temporal_task_queue": "overgang-figures", "follow_up_within": FOLLOW_UP_WITHIN}
    )


class Figures:
    """One transition's overliggedøgn wherever a person or a program can read them."""

    def __init__(self, virtual: VirtualStack, directory: DirectoryFactory) -> None:
        self.virtual = virtual
        self.directory = directory
        self.leader = directory.identity.municipal_leader
        self.municipality = f"Testkommune {directory.number}"

    async def detail(self, transition_id: str) -> dict[str, Any]:
        return await transition_detail(self.virtual.http, self.directory, transition_id)

    async def waiting_days(self, transition_id: str) -> dict[str, float | None]:
        detail = await self.detail(transition_id)
        item = await stalled_item(self.virtual.http, self.directory, transition_id)
        return {
            "waiting_day events": sum(e["kind"] == "waiting_day" for e in detail["timeline"]),
            "API transition": detail["waiting_days"],
            "transition page": await self.transition_page(transition_id),
            "API stalled list": item["days_since_ready"] if item else None,
            "stalled page": await self.stalled_page(transition_id),
            "CSV": await self.csv(transition_id),
            "chart": await self.chart_days(),
        }

    async def transition_page(self, transition_id: str) -> int:
        coordinator = self.directory.identity.coordinator
        page = await self.virtual.get_page(f"/overganger/{transition_id}", coordinator)
        shown = re.search(r"<dt>Overliggedøgn</dt><dd>(\d+)</dd>", page.text)
        return int(shown.group(1)) if shown else 0

    async def stalled_page(self, transition_id: str) -> int | None:
        page = await self.virtual.get_page("/leder", self.leader, kommune=self.directory.number)
        row = re.search(
            rf'<tr>\s*<td[^>]*><a [^>]*href="/overganger/{transition_id}".*?</tr>', page.text, re.S
        )
        assert row, "the transition is not on the stalled page"
        last_cell = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)[-1]
        return None if last_cell == "–" else int(last_cell)

    async def csv(self, transition_id: str) -> int | None:
        page = await self.virtual.get_page(
            "/leder/stoppet.csv", self.leader, kommune=self.directory.number
        )
        rows = list(csv.reader(io.StringIO(page.text.lstrip("\ufeff")), delimiter=";"))
        [row] = [r for r in rows if r[0] == transition_id]
        return int(row[-1]) if row[-1] else None

    async def chart_days(self) -> float:
        """The municipality's overliggedøgn in the chart ("2 døgn"; decimals with a comma)."""
        text = await self.chart_value("overliggedogn")
        return float(text.split()[0].replace(",", "."))

    async def chart_value(self, chart_id: str) -> str:
        """The value the leader's chart gives this test's municipality (from its table)."""
        page = await self.virtual.get_page("/leder/statistikk", self.leader)
        figure = page.text.split(f'id="{chart_id}-tittel"', 1)[1].split("</figure>", 1)[0]
        shown = re.search(rf"<tr><td>{self.municipality}</td><td>(.*?)</td></tr>", figure)
        assert shown, f"{self.municipality} is not in the chart {chart_id}"
        return shown.group(1)


async def post(
    virtual: VirtualStack, directory: DirectoryFactory, path: str, who: str, **body: Any
) -> dict[str, Any]:
    response = await virtual.http.post(path, json=body or None, headers=directory.headers(who))
    assert response.status_code == 200, (path, response.text)
    return response.json()  # type: ignore[no-any-return]


async def test_overliggedogn_are_the_same_on_every_page_and_follow_the_rule(
    virtual: VirtualStack, directory: DirectoryFactory
) -> None:
    """Waiting days so far (domain.waiting_days.days_so_far): day 1 counts from the moment
    the patient is declared ready, a new day counts each day after while the municipality
    is not ready. The transition, the stalled list, its page and CSV, and the chart all
    show the number of waiting_day events the workflow recorded, which is that rule."""
    who, figures = directory.identity, Figures(virtual, directory)
    started = await start_discharge(virtual.http, directory)
    base = f"/api/v1/transitions/{started['id']}"
    await post(virtual, directory, f"{base}/ready-for-discharge", who.coordinator)
    ready_at = datetime.fromisoformat((await figures.detail(started["id"]))["ready_at"])

    async def agreed(days: int, ended_at: datetime | None = None) -> None:
        assert days_so_far(ready_at, await virtual.now(), DAY, ended_at) == days
        last: dict[str, float | None] = {}

        async def shown() -> bool:
            last.update(await figures.waiting_days(started["id"]))
            return set(last.values()) == {days}

        try:
            await eventually(shown, what=f"{days} overliggedøgn everywhere", timeout=30)
        except AssertionError as failed:
            raise AssertionError(f"{days} overliggedøgn everywhere, but: {last}") from failed

    await agreed(1)  # right after utskrivningsklar
    await virtual.advance(DAY + timedelta(hours=1))
    await agreed(2)

    intake = started["tasks"][0]["id"]
    for command in ("acknowledge", "accept"):  # the municipality can receive the patient
        await post(virtual, directory, f"/api/v1/tasks/{intake}/{command}", who.contact)
    detail = await figures.detail(started["id"])
    [offer_ready] = [e for e in detail["timeline"] if e["kind"] == "municipality_ready"]
    await virtual.advance(2 * DAY)
    await agreed(2, ended_at=datetime.fromisoformat(offer_ready["at"]))


async def test_follow_up_share_counts_each_transition_against_its_own_window(
    virtual: VirtualStack, directory: DirectoryFactory
) -> None:
    """The first contact is on time when the workflow, holding the window the cooperation
    agreement gave the transition (here 3 days), has not recorded it missed. A contact on
    day 4 is late under this agreement even though it is within the default 7 days."""
    who, figures = directory.identity, Figures(virtual, directory)
    on_time = await start_discharge(virtual.http, directory)
    late = await start_discharge(virtual.http, directory)
    for started in (on_time, late):
        base = f"/api/v1/transitions/{started['id']}"
        await post(virtual, directory, f"{base}/discharged", who.coordinator, planned=True)
    today = datetime.now(OSLO).date().isoformat()  # never after the virtual day

    async def first_contact(started: dict[str, Any]) -> None:
        path = f"/api/v1/transitions/{started['id']}/first-contact"
        await post(virtual, directory, path, who.contact, contacted_on=today)

    await virtual.advance(DAY)
    await first_contact(on_time)
    await virtual.advance(FOLLOW_UP_WITHIN)
    missed = await figures.detail(late["id"])
    assert [e["kind"] for e in missed["timeline"]].count("follow_up_missed") == 1
    await first_contact(late)

    assert await figures.chart_value("oppfolging") == "50 % (1 av 2)"
