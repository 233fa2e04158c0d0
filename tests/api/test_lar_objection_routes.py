"""The LAR side's answers to an objection through the API: revise (the municipality is
consulted again), override (now allowed after an objection), and withdraw."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from factories import DirectoryFactory, make_fodselsnummer

PROPOSAL = {
    "dose": "metadon 80 mg",
    "dispensing_site": "Hjemmetjenesten",
    "pick_up_regime": "to ganger i uka",
    "take_home_doses": 3,
    "reason": "Stabil, i arbeid",
}


class Change:
    def __init__(self, http: httpx.AsyncClient, directory: DirectoryFactory) -> None:
        self.http, self.d, self.id = http, directory, ""

    async def propose(self, consultant: str) -> dict[str, Any]:
        body = {
            "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Lars Larsen"},
            "municipality_number": self.d.number,
            "origin_unit_id": self.d.dps,
            "dispensing_unit_id": self.d.other_unit,
            "proposal": PROPOSAL,
            "effective_date": (date.today() + timedelta(days=7)).isoformat(),
        }
        response = await self.http.post(
            "/api/v1/lar-changes", json=body, headers=self.d.headers(consultant)
        )
        assert response.status_code == 201, response.text
        self.id = response.json()["id"]
        return response.json()

    async def post(self, path: str, who: str, **body: Any) -> httpx.Response:
        return await self.http.post(path, json=body or None, headers=self.d.headers(who))

    async def object(self, consultation_id: str) -> None:
        contact = self.d.identity.contact
        ack = await self.post(f"/api/v1/tasks/{consultation_id}/acknowledge", contact)
        assert ack.status_code == 200, ack.text
        answer = await self.post(
            f"/api/v1/lar-changes/{self.id}/answer", contact, agree=False, comment="Nei"
        )
        assert answer.status_code == 200, answer.text


async def test_revise_then_override_an_objection(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    consultant = await directory.add_person("lar-konsulent", ["lar_consultant"], directory.dps)
    physician = await directory.add_person("lar-lege", ["lar_physician"], directory.dps)
    change = Change(app_client, directory)
    started = await change.propose(consultant)
    await change.object(started["tasks"][0]["id"])

    base = f"/api/v1/lar-changes/{change.id}"
    past = (date.today() - timedelta(days=1)).isoformat()
    refused = await change.post(
        f"{base}/revise", consultant, proposal=PROPOSAL, effective_date=past
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "effective_date"

    later = (date.today() + timedelta(days=14)).isoformat()
    revised = await change.post(
        f"{base}/revise", consultant, proposal={**PROPOSAL, "take_home_doses": 2},
        effective_date=later,
    )  # fmt: skip
    assert revised.status_code == 200, revised.text
    reopened = [t for t in revised.json()["tasks"] if t["status"] == "requested"]
    assert [t["kind"] for t in reopened] == ["lar_consultation"]

    await change.object(reopened[0]["id"])
    overridden = await change.post(f"{base}/override", physician, reason="Pasienten mister jobben")
    assert overridden.status_code == 200, overridden.text


async def test_only_the_lar_side_withdraws_and_the_change_is_then_cancelled(
    app_client: httpx.AsyncClient, directory: DirectoryFactory
) -> None:
    consultant = await directory.add_person("lar-konsulent", ["lar_consultant"], directory.dps)
    change = Change(app_client, directory)
    started = await change.propose(consultant)
    await change.object(started["tasks"][0]["id"])
    base = f"/api/v1/lar-changes/{change.id}"

    by_contact = await change.post(f"{base}/withdraw", directory.identity.contact, reason="Nei")
    assert by_contact.status_code == 403, by_contact.text
    withdrawn = await change.post(f"{base}/withdraw", consultant, reason="Kommunen har rett")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "cancelled"
