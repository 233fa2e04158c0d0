"""The figures a leader reads about one transition are the same wherever they are shown: the
stalled list (API and page), its CSV, the transition itself, the charts and Temporal's own
search attributes."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import Client

from workflows.search_attributes import BOUNCE_COUNT

from factories import DirectoryFactory, start_discharge
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
    coordinator = directory.headers(directory.identity.coordinator)
    body = (await http.get(f"/api/v1/transitions/{transition_id}", headers=coordinator)).json()
    return next(t for t in body["tasks"] if t["status"] == "requested")


async def test_three_forwards_of_one_intake_are_three_bounces(
    app_client: httpx.AsyncClient, directory: DirectoryFactory, temporal: Client
) -> None:
    """A forwarded step carries its whole chain of earlier owners: the transition has
    bounced as often as its longest chain is long, not the sum over the chain's steps."""
    nav_contact = await directory.add_person("nav", ["municipal_contact"], directory.nav)
    started = await start_discharge(app_client, directory)
    chain = [
        (directory.identity.contact, directory.nav),
        (nav_contact, directory.other_unit),
        (directory.identity.outsider, directory.housing),
    ]
    for by, to_unit in chain:
        task = await open_intake(app_client, directory, started["id"])
        await forward(app_client, directory, task["id"], by, to_unit)
    last = await open_intake(app_client, directory, started["id"])
    assert (last["owner_unit_id"], last["bounce_count"]) == (directory.housing, 3)

    async def bounced() -> dict[str, Any] | None:
        item = await stalled_item(app_client, directory, started["id"])
        return item if item and "bounced" in item["reasons"] else None

    item = await eventually(bounced, what="the bounced transition in the stalled report")
    assert item["bounces"] == 3
    described = await temporal.get_workflow_handle(started["workflow_id"]).describe()
    assert described.typed_search_attributes.get(BOUNCE_COUNT) == 3
