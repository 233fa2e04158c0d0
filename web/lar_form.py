"""The LAR plan change form: the TSB doctor's decision with its reason (phase one), which the
municipality's LAR contact is consulted on before it takes effect. From posted fields to a
LarChangeCreate, or to Norwegian messages keyed by form field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from api.lar_changes.schemas import LarChangeCreate
from web.formatting import as_iso_date

MESSAGES = {
    "what_matters": "Skriv hva som er viktig for pasienten (høyst 4000 tegn).",
    "patient_name": "Skriv pasientens navn.",
    "fodselsnummer": "Skriv et gyldig fødselsnummer eller D-nummer med 11 siffer.",
    "municipality_number": "Velg pasientens hjemkommune.",
    "origin_unit_id": "Velg LAR-enheten som foreslår endringen.",
    "dispensing_unit_id": "Velg utleveringsstedet.",
    "dose": "Skriv legemiddel og dose, for eksempel «metadon 90 mg».",
    "dispensing_site": "Skriv hvor legemidlet skal utleveres.",
    "pick_up_regime": "Skriv henteordningen, for eksempel «daglig».",
    "take_home_doses": "Skriv antall hjemmedoser, et tall fra 0 til 28.",
    "reason": "Skriv legens begrunnelse for endringen.",
    "effective_date": "Skriv datoen endringen gjelder fra som dd.mm.åååå.",
}
PAST_DATE = "Datoen endringen skal gjelde fra kan ikke være tilbake i tid."
FORM_ORDER = list(MESSAGES)
FIELD_FOR = {"patient.fodselsnummer": "fodselsnummer", "patient.name": "patient_name"}


def field_of(path: str) -> str:
    if path.startswith("proposal."):
        return path.removeprefix("proposal.")
    return FIELD_FOR.get(path, path.split(".")[0])


def message_for(field: str, service_message: str = "") -> str:
    if field == "effective_date" and "past" in service_message:
        return PAST_DATE
    return MESSAGES.get(field, "Sjekk dette feltet.")


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name, "")).strip()


def _body(form: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "patient": {
            "fodselsnummer": _text(form, "fodselsnummer").replace(" ", ""),
            "name": _text(form, "patient_name"),
        },
        "what_matters": _text(form, "what_matters"),
        "municipality_number": _text(form, "municipality_number"),
        "origin_unit_id": _text(form, "origin_unit_id"),
        "dispensing_unit_id": _text(form, "dispensing_unit_id"),
        "effective_date": as_iso_date(_text(form, "effective_date")) or None,
        "proposal": {
            name: _text(form, name) or None
            for name in ("dose", "dispensing_site", "pick_up_regime", "take_home_doses", "reason")
        },
    }


def parse(form: Mapping[str, Any]) -> tuple[LarChangeCreate | None, dict[str, str]]:
    try:
        return LarChangeCreate.model_validate(_body(form)), {}
    except ValidationError as error:
        errors: dict[str, str] = {}
        for item in error.errors():
            field = field_of(".".join(str(p) for p in item["loc"]))
            errors.setdefault(field, message_for(field))
        return None, ordered(errors)


def ordered(errors: dict[str, str]) -> dict[str, str]:
    rank = {name: i for i, name in enumerate(FORM_ORDER)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], len(rank))))
