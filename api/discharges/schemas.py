"""What a discharge coordinator sends to start a discharge, and gets back."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from api.tasks.schemas import TaskPublic
from domain.discharge import Consents, Needs, Relative
from domain.identifiers import Fodselsnummer, Kommunenummer
from domain.transition import TransitionStatus


class PatientIn(BaseModel):
    fodselsnummer: Fodselsnummer = Field(description="Fødselsnummer or D-nummer, 11 digits.")
    name: Annotated[str, Field(min_length=1, max_length=200)]


class DischargeCreate(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "patient": {"fodselsnummer": "<11 digits>", "name": "Kari Nordmann"},
                    "municipality_number": "3101",
                    "origin_unit_id": "dps-fredrikstad",
                    "expected_discharge_date": "2026-12-15",
                    "what_matters": "Å få bo i egen leilighet og komme tilbake til jobb.",
                    "needs": {"housing": True, "nav": True},
                    "consents": {"share_with_housing_office": True},
                }
            ]
        }
    }

    patient: PatientIn
    what_matters: Annotated[
        str,
        Field(
            min_length=1,
            max_length=4000,
            description="Hva er viktig for deg? In the patient's words.",
        ),
    ]
    municipality_number: Kommunenummer = Field(description="The home municipality (kommunenummer).")
    origin_unit_id: str = Field(
        min_length=1, max_length=64, description="The discharging DPS/TSB unit."
    )
    expected_discharge_date: date
    needs: Needs = Field(default_factory=Needs)
    consents: Consents = Field(default_factory=Consents)
    relatives: list[Relative] = Field(default_factory=list, max_length=20)
    serving_sentence: bool = False
    new_episode: bool = Field(
        default=False,
        description="Start even though a discharge of this patient from this unit is under "
        "way (e.g. discharged, re-admitted and ready again): without it that is a 409.",
    )


class StartWarning(BaseModel):
    """Something the coordinator should check; the transition was started all the same."""

    code: str
    field: str
    message: str


class TransitionStarted(BaseModel):
    id: str
    workflow_id: str
    status: TransitionStatus
    tasks: list[TaskPublic]
    warnings: list[StartWarning] = Field(default_factory=list)
