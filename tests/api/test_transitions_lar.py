"""LarPlanChangeWorkflow through the API: consultation, answer, the missed answer deadline,
the LAR physician's audited override, the patient's view, and the dispensing site's
confirmation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.actors import Actor, Role
from domain.lar import OverrideConsultation
from workflows.lar_change import LarPlanChangeWorkflow

from factories import DirectoryFactory, make_fodselsnummer
from polling import eventually


class LarCase:
    def __init__(self, http: httpx.AsyncClient, directory: DirectoryFactory) -> None:
        self.http = http
        self.directory = directory
        self.id = ""
        self.consultant = ""
        self.physician = ""

    async def people(self) -> None:
        d = self.directory
        self.consultant = await d.add_person("lar-konsulent", ["lar_consultant"], d.dps)
        self.physician = await d.add_person("lar-lege", ["lar_physician"], d.dps)

    def as_(self, person_id: str) -> dict[str, str]:
        return self.directory.headers(person_id)

    async def propose(self, effective: date) -> dict[str, Any]:
        body = {
            "patient": {"fodselsnummer": make_fodselsnummer(), "name": "Lars Larsen"},
            "municipality_number": self.directory.number,
            "origin_unit_id": self.directory.dps,
            "dispensing_unit_id": self.directory.other_unit,
            "proposal": {
                "dose": "metadon 80 mg",
                "dispensing_site": "Hjemmetjenesten",
                "pick_up_regime": "to ganger i uka",
                "take_home_doses": 3,
                "reason": "Stabil, i arbeid; færre hentedager",
            },
            "effective_date": effective.isoformat(),
        }
        response = await self.http.post(
            "/api/v1/lar-changes", json=body, headers=self.as_(self.consultant)
        )
        assert response.status_code == 201, response.text
        self.id = response.json()["id"]
        return response.json()

    async def post(self, path: str, person_id: str, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"/api/v1/lar-changes/{self.id}{path}", json=body, headers=self.as_(person_id)
        )

    async def detail(self) -> dict[str, Any]:
        response = await self.http.get(
            f"/api/v1/transitions/{self.id}", headers=self.as_(self.consultant)
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def event(self, kind: str) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            return next((e for e in (await self.detail())["timeline"] if e["kind"] == kind), None)

        return await eventually(found, timeout=30, what=f"a {kind} event")

    async def task(self, kind: str) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            return next((t for t in (await self.detail())["tasks"] if t["kind"] == kind), None)

        return await eventually(found, what=f"a {kind} task")

    async def task_command(self, task_id: str, command: str, person_id: str) -> None:
        body = {"note": "Gjennomført"} if command == "complete" else None
        response = await self.http.post(
            f"/api/v1/tasks/{task_id}/{command}", json=body, headers=self.as_(person_id)
        )
        assert response.status_code == 200, (command, response.text)


@pytest.fixture
async def case(app_client: httpx.AsyncClient, directory: DirectoryFactory) -> LarCase:
    lar = LarCase(app_client, directory)
    await lar.people()
    return lar


async def test_answered_change_takes_effect_and_the_dispensing_site_confirms(
    case: LarCase, directory: DirectoryFactory
) -> None:
    started = await case.propose(date.today())
    [consultation] = started["tasks"]
    assert consultation["kind"] == "lar_consultation"
    assert consultation["owner_unit_id"] == directory.intake  # the municipal LAR contact

    # Effective today: the working day before has begun, so the missing answer escalates.
    missed = await case.event("answer_deadline_missed")
    assert missed["detail"]["effective_date"] == date.today().isoformat()
    assert (await case.task("lar_consultation"))["escalation_level"] == 2

    view = await case.post("/patient-view", case.consultant, view="Vil gjerne hente sjeldnere")
    assert view.status_code == 200, view.text

    contact = directory.identity.contact
    await case.task_command(consultation["id"], "acknowledge", contact)
    answered = await case.post("/answer", contact, agree=True, comment="Vi kan utlevere tirsdag")
    assert answered.status_code == 200, answered.text
    assert answered.json()["business_status"] == "agreed"

    effective = await case.event("lar_change_effective")
    assert effective["detail"]["answer"] == "agreed"
    implementation = await case.task("lar_implementation")
    assert implementation["owner_unit_id"] == directory.other_unit
    site = directory.identity.outsider  # a contact of the dispensing unit
    for command in ("acknowledge", "accept", "complete"):
        await case.task_command(implementation["id"], command, site)

    async def completed() -> dict[str, Any] | None:
        body = await case.detail()
        return body if body["status"] == "completed" else None

    body = await eventually(completed, timeout=30, what="the change to complete")
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds.index("patient_view_recorded") < kinds.index("lar_change_effective")


async def test_change_far_ahead_waits_and_does_not_escalate(
    case: LarCase, directory: DirectoryFactory
) -> None:
    started = await case.propose(date.today() + timedelta(days=21))
    consultation = started["tasks"][0]
    contact = directory.identity.contact
    await case.task_command(consultation["id"], "acknowledge", contact)
    objected = await case.post("/answer", contact, agree=False, comment="Apoteket har ikke plass")
    assert objected.status_code == 200, objected.text
    await case.event("lar_answered")
    body = await case.detail()
    kinds = {e["kind"] for e in body["timeline"]}
    assert "answer_deadline_missed" not in kinds
    assert "lar_change_effective" not in kinds  # waits for its effective date
    again = await case.post("/answer", contact, agree=True, comment="likevel")
    assert again.status_code == 409
    assert "consultation is closed" in again.json()["detail"]


async def test_only_a_lar_physician_overrides_and_the_override_is_recorded(
    case: LarCase, temporal: Client
) -> None:
    await case.propose(date.today())
    refused = await case.post("/override", case.consultant, reason="Haster")
    assert refused.status_code == 403
    assert "LAR physician" in refused.json()["detail"]

    # The workflow's own validator refuses too, before anything reaches the history.
    handle = temporal.get_workflow_handle(f"lar-change-{case.id}")
    consultant = Actor(
        person_id=case.consultant,
        roles=frozenset({Role.LAR_CONSULTANT}),
        unit_ids=frozenset({case.directory.dps}),
    )
    with pytest.raises(WorkflowUpdateFailedError) as refusal:
        await handle.execute_update(
            LarPlanChangeWorkflow.override, OverrideConsultation(actor=consultant, reason="Haster")
        )
    assert isinstance(refusal.value.cause, ApplicationError)
    assert "lar_physician" in refusal.value.cause.message

    overridden = await case.post(
        "/override", case.physician, reason="Kommunen svarer ikke; pasienten mister jobben"
    )
    assert overridden.status_code == 200, overridden.text
    event = await case.event("override")
    assert event["actor_id"] == case.physician
    assert "mister jobben" in event["detail"]["reason"]
    consultation = await case.task("lar_consultation")
    assert consultation["status"] == "cancelled"
    assert "overridden by LAR physician" in consultation["reason"]
    await case.event("lar_change_effective")
    await case.task("lar_implementation")
