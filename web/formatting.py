"""How the pages say things: Norwegian dates in Europe/Oslo time, and the domain's words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from jinja2 import Environment

from domain.calendar import OSLO

MONTHS = [
    "januar", "februar", "mars", "april", "mai", "juni",
    "juli", "august", "september", "oktober", "november", "desember",
]  # fmt: skip

TASK_KIND = {
    "municipal_intake": "Mottak i kommunen",
    "cooperation_meeting": "Samarbeidsmøte / ansvarsgruppe",
    "coordinator": "Koordinator og individuell plan",
    "housing": "Bolig",
    "nav": "NAV",
    "lar_informed": "LAR-kontakt informert",
    "follow_up": "Første kontakt etter utskrivning (7 dager)",
    "lar_consultation": "Kommunen konsultert om LAR-endring",
    "lar_implementation": "Utleveringsstedet bekrefter LAR-endring",
    "handover": "Overføring til kommunal enhet",
}

TASK_ASK = {
    "municipal_intake": "Kvittere for mottak, og si om kommunen kan ta imot pasienten.",
    "cooperation_meeting": "Delta i samarbeidsmøte eller ansvarsgruppe før utskrivning.",
    "coordinator": "Vurdere koordinator og individuell plan.",
    "housing": "Sørge for bolig eller midlertidig botilbud ved utskrivning.",
    "nav": "Avklare økonomi, aktivitet og eventuelt midlertidig bolig.",
    "lar_informed": "Bekrefte at kommunens LAR-kontakt er informert.",
    "follow_up": "Ha første kontakt med pasienten innen 7 dager etter utskrivning.",
    "lar_consultation": "Gi kommunens vurdering av den planlagte LAR-endringen.",
    "lar_implementation": "Bekrefte at endringen er gjennomført på utleveringsstedet.",
}

# The patient's needs after discharge (domain.discharge.Needs), as a page lists them.
NEED_LABELS = {
    "municipal_follow_up": "Oppfølging fra psykisk helse og rus",
    "housing": "Bolig",
    "nav": "NAV",
    "lar": "LAR",
    "coordinator": "Koordinator og individuell plan",
    "gp": "Fastlege",
}

# The patient's consents (domain.discharge.Consents), as the transition page lists them.
CONSENT_LABELS = {
    "share_with_municipal_health_service": "Dele helseopplysninger med kommunens helsetjeneste",
    "share_with_housing_office": "Dele nødvendige opplysninger med boligkontoret",
    "share_with_nav": "Dele nødvendige opplysninger med NAV",
    "electronic_messages": "Sende elektroniske meldinger om pasienten",
}

NOTIFICATION_REASON = {
    "new_task": "Ny oppgave",
    "reminder": "Påminnelse",
    "escalation": "Eskalert",
    "bounced": "Sendt fram og tilbake",
    "date_changed": "Ny forventet utskrivningsdato",
}

TASK_STATUS = {
    "requested": "Ikke kvittert",
    "received": "Kvittert",
    "accepted": "Tatt imot",
    "rejected": "Avvist",
    "in-progress": "Under arbeid",
    "on-hold": "På vent",
    "completed": "Fullført",
    "cancelled": "Avlyst",
}

TRANSITION_STATUS = {"active": "Pågår", "completed": "Fullført", "cancelled": "Avlyst"}
TRANSITION_KIND = {
    "discharge": "Utskrivning",
    "handover": "Overføring",
    "lar_change": "LAR-endring",
}

EVENT_KIND = {
    "transition_started": "Overgangen ble startet",
    "transition_completed": "Overgangen ble fullført",
    "transition_cancelled": "Overgangen ble avlyst",
    "task_created": "Oppgave opprettet",
    "task_acknowledged": "Kvittert for mottak",
    "task_accepted": "Tatt imot",
    "task_rejected": "Avvist",
    "task_forwarded": "Videresendt",
    "task_started": "Arbeid startet",
    "task_completed": "Fullført",
    "task_assigned": "Tildelt",
    "task_cancelled": "Oppgave avlyst",
    "task_overdue": "Fristen gikk ut",
    "escalated": "Eskalert",
    "reminded": "Påminnelse sendt",
    "reminders_skipped": "Påminnelser som falt bort under driftsavbrudd",
    "notified": "Varsel sendt",
    "notification_failed": "Varsel ikke levert",
    "discharge_date_changed": "Ny forventet utskrivningsdato",
    "ready_for_discharge": "Meldt utskrivningsklar",
    "waiting_day": "Overliggedøgn",
    "discharged": "Utskrevet",
    "meeting_recorded": "Samarbeidsmøte registrert",
    "follow_up_recorded": "Oppfølging etter utskrivning registrert",
    "override": "Manuell overstyring",
    "handover_started": "Overføring startet",
    "handover_finished": "Overføring avsluttet",
    "handover_not_sent": "Overføring ikke sendt (mangler samtykke)",
    "bounce_escalated": "Sendt fram og tilbake: ledere varslet",
    "municipality_ready": "Kommunens tilbud er klart",
    "follow_up_missed": "Ingen kontakt innen fristen etter utskrivning",
    "lar_answered": "Kommunen har svart på LAR-endringen",
    "patient_view_recorded": "Pasientens syn registrert",
    "lar_change_effective": "LAR-endringen gjelder fra nå",
    "answer_deadline_missed": "Svarfristen gikk ut",
    "lar_withdrawn": "LAR-endringen er trukket tilbake",
    "lar_revised": "LAR-endringen er revidert; kommunen spørres på nytt",
}

DETAIL_LABELS = {
    "reason": "Begrunnelse",
    "level": "Nivå",
    "note": "Notat",
    "forward_to_unit_id": "Videresendt til",
    "to_unit_id": "Til enhet",
    "from_unit_id": "Fra enhet",
    "unit_id": "Enhet",
    "owner_unit_id": "Enhet",
    "person_id": "Til",
    "kind": "Type",
    "task_kind": "Oppgave",
    "due_at": "Frist",
    "next_at": "Neste eskalering",
    "channel": "Kanal",
    "channels": "Kanaler",
    "notify": "Varsler",
    "bounces": "Ganger sendt videre",
    "planned": "Planlagt",
    "expected_discharge_date": "Forventet utskrivning",
    "contacted_on": "Kontaktdato",
    "held_on": "Dato",
    "sent_at": "Sendt",
    "on_behalf_of": "På vegne av",
    "day": "Døgn nr.",
    "began_at": "Fra",
    "participants": "Deltakere",
    "effective_on": "Gjelder fra",
    "answer": "Svar",
    "rate_nok": "Døgnpris (kr)",
    "meeting_called": "Samarbeidsmøte innkalt",
    "handover_kind": "Overføring til",
    "handover_transition_id": "Overføring",
    "outcome": "Utfall",
    "waiting_days": "Overliggedøgn",
    "within": "Innen",
    "effective_date": "Gjelder fra",
    "attempts": "Forsøk",
    "assignee_id": "Tildelt",
    "starts_at": "Fra",
    "units": "Enheter",
    "old": "Før",
    "new": "Nå",
}
HIDDEN_DETAILS = {"policy", "new_task_id", "task_id", "revision", "handover_transition_id"}
VALUE_WORDS = {
    "in_app": "i appen",
    "email": "e-post",
    "webhook": "webhook",
    "sms": "SMS",
    "new_task": "ny oppgave",
    "escalation": "eskalering",
    "reminder": "påminnelse",
    "lar_objection": "innsigelse mot LAR-endring",
    "owner_unit": "enheten",
    "backup_contacts": "vara",
    "unit_leader": "enhetsleder",
    "municipal_leader": "kommunalsjef",
    "origin_leader": "leder i spesialisthelsetjenesten",
    "on_call": "vakt",
    "true": "ja",
    "false": "nei",
    **TASK_KIND,
}


def oslo(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(OSLO)


def norwegian_date(value: date | datetime | None) -> str:
    """22.11.2026"""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = oslo(value).date()
    return f"{value:%d.%m.%Y}"


def norwegian_datetime(value: datetime | None) -> str:
    """22.11.2026 kl. 17:42 (Oslo time)"""
    if value is None:
        return "–"
    local = oslo(value)
    return f"{local:%d.%m.%Y} kl. {local:%H:%M}"


def long_date(value: date | None) -> str:
    """22. november 2026"""
    if value is None:
        return "–"
    return f"{value.day}. {MONTHS[value.month - 1]} {value.year}"


def parse_date(text: str) -> date | None:
    """A date as people type it here: 24.12.2026 (or 24.12.26, or ISO 2026-12-24)."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})", text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year + 2000 if year < 100 else year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def as_iso_date(text: str) -> str:
    """ISO for a date the model can read; the text unchanged (so validation names it) if not."""
    parsed = parse_date(text)
    return parsed.isoformat() if parsed else text


def iso(value: datetime | date | None) -> str:
    return "" if value is None else value.isoformat()


def duration(value: timedelta | float | None) -> str:
    """A waiting time in words: '3 t 20 min', '2 d 4 t'."""
    if value is None:
        return "–"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} t"
    if hours:
        return f"{hours} t {mins} min"
    return f"{mins} min"


def hours_in_words(value: timedelta | None) -> str:
    """'4 timer', '1 time', '30 minutter'."""
    if value is None:
        return "en begrenset tid"
    minutes = round(value.total_seconds() / 60)
    if minutes % 60:
        return f"{minutes} minutter"
    hours = minutes // 60
    return "1 time" if hours == 1 else f"{hours} timer"


def _detail_value(key: str, value: str, names: dict[str, str]) -> str:
    if key.endswith("_id") or key == "on_behalf_of":
        return names.get(value, value)
    if key == "units":
        return ", ".join(names.get(part, part) for part in value.split(","))
    if key.endswith("_at"):
        try:
            return norwegian_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    return ", ".join(VALUE_WORDS.get(part, part) for part in value.split(","))


def event_details(detail: dict[str, str] | None, names: dict[str, str]) -> list[tuple[str, str]]:
    """A timeline entry's details as (label, value) in Norwegian; ids become names."""
    return [
        (DETAIL_LABELS.get(key, key), _detail_value(key, str(value), names))
        for key, value in (detail or {}).items()
        if key not in HIDDEN_DETAILS and str(value) != ""
    ]


def handover_purpose(text: str) -> str:
    """A handover's purpose in bokmål: the workflow writes '<kind> in place before discharge'
    for a discharge's handovers; a portfolio transfer's reason is the coordinator's own."""
    kind, found, _ = text.partition(" in place before discharge")
    if found and kind in TASK_KIND:
        return f"{TASK_KIND[kind]} på plass før utskrivning"
    return text


def install_filters(env: Environment) -> None:
    env.filters.update(
        dato=norwegian_date,
        tidspunkt=norwegian_datetime,
        lang_dato=long_date,
        lang_dato_tekst=lambda v: long_date(parse_date(str(v))) if v else "–",
        iso=iso,
        varighet=duration,
        oppgavetype=lambda v: TASK_KIND.get(str(v), str(v)),
        oppgavestatus=lambda v: TASK_STATUS.get(str(v), str(v)),
        overgangsstatus=lambda v: TRANSITION_STATUS.get(str(v), str(v)),
        overgangstype=lambda v: TRANSITION_KIND.get(str(v), str(v)),
        hendelse=lambda v: EVENT_KIND.get(str(v), str(v)),
        detaljnavn=lambda v: DETAIL_LABELS.get(str(v), str(v)),
        timer=hours_in_words,
        varsel=lambda v: NOTIFICATION_REASON.get(str(v), str(v)),
        samtykke=lambda v: CONSENT_LABELS.get(str(v), str(v)),
        formaal=lambda v: handover_purpose(str(v)),
    )
    env.globals["task_ask"] = lambda kind: TASK_ASK.get(str(kind), "")
    env.globals["event_details"] = event_details
