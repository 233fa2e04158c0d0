"""Norwegian identifiers: fødselsnummer / D-nummer, kommunenummer, HPR-nummer, organisasjonsnummer.

Pure functions, safe inside Temporal workflows: no clocks, no randomness, no I/O.
Every validator returns the compact form and raises :class:`InvalidIdentifier` with a
message a person can act on; the messages never repeat the value, which may be personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, Field
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError
from stdnum.no import fodselsnummer as _fnr
from stdnum.no import orgnr as _orgnr

# FHIR identifier systems (HL7 Norway no-basis).
FODSELSNUMMER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
D_NUMMER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGANISASJONSNUMMER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"

# Counties after the 2024 split of Viken, Vestfold og Telemark and Troms og Finnmark.
# Whether a municipality exists is the directory's business, not this module's.
COUNTIES_2024: Mapping[str, str] = {
    "03": "Oslo",
    "11": "Rogaland",
    "15": "Møre og Romsdal",
    "18": "Nordland",
    "31": "Østfold",
    "32": "Akershus",
    "33": "Buskerud",
    "34": "Innlandet",
    "39": "Vestfold",
    "40": "Telemark",
    "42": "Agder",
    "46": "Vestland",
    "50": "Trøndelag",
    "55": "Troms",
    "56": "Finnmark",
}

_HPR = re.compile(r"[0-9]{1,9}")
_KOMMUNENUMMER = re.compile(r"[0-9]{4}")


class InvalidIdentifier(ValueError):
    """An identifier that fails validation; the message says what to fix."""


def validate_fodselsnummer(value: str) -> str:
    """Accept a fødselsnummer or D-nummer and return its 11 digits."""
    number = _fnr.compact(value).strip()
    if number and not (number.isascii() and number.isdigit()):
        raise InvalidIdentifier("fødselsnummer must contain only digits")
    if len(number) != 11:
        raise InvalidIdentifier(f"fødselsnummer must be 11 digits, not {len(number)}")
    if not _has_valid_check_digits(number):
        raise InvalidIdentifier("fødselsnummer has wrong check digits; look for a typing error")
    _refuse_other_kinds(number)
    _require_birth_date(number)
    return number


def _has_valid_check_digits(number: str) -> bool:
    expected = _fnr.calc_check_digit1(number) + _fnr.calc_check_digit2(number)
    return number[9:] == expected


def _refuse_other_kinds(number: str) -> None:
    # FH-numbers (first digit 8-9), H-numbers (month + 40) and synthetic test numbers
    # (month + 80) are not identities a receiving municipality can look up.
    month = int(number[2:4])
    if number[0] in "89":
        raise InvalidIdentifier("FH-numbers are not accepted; use a fødselsnummer or D-nummer")
    if 41 <= month <= 52:
        raise InvalidIdentifier("H-numbers are not accepted; use a fødselsnummer or D-nummer")
    if 81 <= month <= 92:
        raise InvalidIdentifier("synthetic test numbers are not accepted")


def _require_birth_date(number: str) -> None:
    # stdnum's validate() also refuses birth dates after date.today(); we cannot ask the
    # clock (the Temporal sandbox forbids it), so only the calendar date is checked.
    try:
        _fnr.get_birth_date(number)
    except ValidationError:
        raise InvalidIdentifier("fødselsnummer does not contain a valid birth date") from None


def is_d_nummer(value: str) -> bool:
    """Whether a valid number is a D-nummer (first digit raised by 4)."""
    return validate_fodselsnummer(value)[0] in "4567"


def identifier_system(value: str) -> str:
    """The FHIR identifier system of a fødselsnummer or D-nummer."""
    return D_NUMMER_SYSTEM if is_d_nummer(value) else FODSELSNUMMER_SYSTEM


def mask(value: str) -> str:
    """Hide the personal digits for display: "010190*****"."""
    number = _fnr.compact(value).strip()
    if len(number) != 11:
        # Not a shape we know: show nothing rather than guess which part is safe.
        return "*" * len(number)
    return number[:6] + "*" * 5


def validate_kommunenummer(value: str) -> str:
    """Accept a 4-digit kommunenummer whose county exists as of 2024."""
    number = value.replace(" ", "")
    if not _KOMMUNENUMMER.fullmatch(number):
        raise InvalidIdentifier("kommunenummer must be 4 digits, e.g. 0301 for Oslo")
    if number[:2] not in COUNTIES_2024:
        raise InvalidIdentifier(
            f"kommunenummer must start with a county number valid since 2024, not {number[:2]}"
            " (counties merged or split in 2020 and 2024: check for an old number)"
        )
    return number


def validate_hpr_number(value: str) -> str:
    """Accept an HPR-nummer (health-personnel register number): 1 to 9 digits."""
    number = value.replace(" ", "")
    if not _HPR.fullmatch(number):
        raise InvalidIdentifier("HPR-nummer must be 1 to 9 digits")
    return number


def validate_organisasjonsnummer(value: str) -> str:
    """Accept a 9-digit organisasjonsnummer with a valid mod-11 check digit."""
    try:
        return _orgnr.validate(value)
    except InvalidLength:  # a subclass of InvalidFormat, so it goes first
        raise InvalidIdentifier("organisasjonsnummer must be 9 digits") from None
    except InvalidChecksum:
        raise InvalidIdentifier(
            "organisasjonsnummer has a wrong check digit; look for a typing error"
        ) from None
    except ValidationError:
        raise InvalidIdentifier("organisasjonsnummer must contain only digits") from None


# Types for request models: a bad value gives a 422 that names the field.
Fodselsnummer = Annotated[
    str,
    AfterValidator(validate_fodselsnummer),
    Field(description="Fødselsnummer or D-nummer, 11 digits"),
]
Kommunenummer = Annotated[
    str,
    AfterValidator(validate_kommunenummer),
    Field(description="Kommunenummer, 4 digits"),
]
HprNumber = Annotated[
    str,
    AfterValidator(validate_hpr_number),
    Field(description="HPR-nummer, 1 to 9 digits"),
]
Organisasjonsnummer = Annotated[
    str,
    AfterValidator(validate_organisasjonsnummer),
    Field(description="Organisasjonsnummer, 9 digits"),
]
