"""The start-a-discharge form: from posted fields to a DischargeCreate, or to Norwegian
messages keyed by the form field they belong to (shown at the field)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from api.discharges.schemas import DischargeCreate
from web.formatting import as_iso_date

NEEDS = [
    ("municipal_follow_up", "Oppfølging fra kommunens psykisk helse- og rustjeneste"),
    ("housing", "Bolig"),
    ("nav", "NAV: økonomi, aktivitet eller midlertidig bolig"),
    ("lar", "LAR (legemiddelassistert rehabilitering)"),
    ("coordinator", "Koordinator og individuell plan"),
    ("gp", "Oppfølging hos fastlege"),
]

CONSENTS = [
    ("share_with_municipal_health_service", "Dele helseopplysninger med kommunens helsetjeneste"),
    ("share_with_housing_office", "Dele nødvendige opplysninger med boligkontoret"),
    ("share_with_nav", "Dele nødvendige opplysninger med NAV"),
    ("electronic_messages", "Sende elektroniske meldinger om pasienten"),
]

MESSAGES = {
    "what_matters": "Skriv hva som er viktig for pasienten, med pasientens egne ord.",
    "patient_name": "Skriv pasientens navn.",
    "fodselsnummer": "Skriv et gyldig fødselsnummer eller D-nummer med 11 siffer.",
    "municipality_number": "Velg pasientens hjemkommune.",
    "origin_unit_id": "Velg enheten pasienten skrives ut fra.",
    "expected_discharge_date": "Skriv forventet utskrivningsdato som dd.mm.åååå.",
}
PAST_DATE = "Forventet utskrivningsdato kan ikke være tilbake i tid."
SECOND_EPISODE = (
    "Pasienten har allerede en aktiv utskrivning fra denne enheten. Kryss av for ny episode "
    "bare hvis dette ikke er en dobbeltregistrering."
)
CONSENT_MISSING = "Velg ja eller nei: {}."

# Field paths in DischargeCreate -> the form field that shows the message.
FIELD_FOR = {
    "patient.fodselsnummer": "fodselsnummer",
    "patient.name": "patient_name",
    "patient": "fodselsnummer",
}

FORM_ORDER = [
    "what_matters", "patient_name", "fodselsnummer", "municipality_number",
    "origin_unit_id", "expected_discharge_date", *(f"consent_{k}" for k, _ in CONSENTS),
    "new_episode",
]  # fmt: skip


def _consents(form: Mapping[str, Any], errors: dict[str, str]) -> dict[str, bool]:
    answers = {}
    for key, label in CONSENTS:
        value = form.get(f"consent_{key}")
        if value not in ("ja", "nei"):
            errors[f"consent_{key}"] = CONSENT_MISSING.format(label[0].lower() + label[1:])
        answers[key] = value == "ja"
    return answers


def _body(form: Mapping[str, Any], consents: dict[str, bool]) -> dict[str, Any]:
    return {
        "patient": {
            "fodselsnummer": str(form.get("fodselsnummer", "")).replace(" ", ""),
            "name": str(form.get("patient_name", "")).strip(),
        },
        "what_matters": str(form.get("what_matters", "")).strip(),
        "municipality_number": str(form.get("municipality_number", "")),
        "origin_unit_id": str(form.get("origin_unit_id", "")),
        "expected_discharge_date": as_iso_date(str(form.get("expected_discharge_date", "")))
        or None,
        "needs": {key: form.get(f"need_{key}") == "ja" for key, _ in NEEDS},
        "consents": consents,
        "new_episode": form.get("new_episode") == "ja",
    }


def field_of(path: str) -> str:
    return FIELD_FOR.get(path, path.split(".")[0])


def message_for(field: str, service_message: str = "") -> str:
    if field == "expected_discharge_date" and "past" in service_message:
        return PAST_DATE
    return MESSAGES.get(field, "Sjekk dette feltet.")


def parse(form: Mapping[str, Any]) -> tuple[DischargeCreate | None, dict[str, str]]:
    """The request, or the messages per form field; both checks run so all errors show."""
    errors: dict[str, str] = {}
    consents = _consents(form, errors)
    try:
        body = DischargeCreate.model_validate(_body(form, consents))
    except ValidationError as error:
        for item in error.errors():
            field = field_of(".".join(str(p) for p in item["loc"]))
            errors.setdefault(field, message_for(field))
        return None, ordered(errors)
    return (None, ordered(errors)) if errors else (body, {})


def ordered(errors: dict[str, str]) -> dict[str, str]:
    """In the order the fields appear, so the error summary reads top to bottom."""
    rank = {name: i for i, name in enumerate(FORM_ORDER)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], len(rank))))
