"""E-mail notifications over SMTP (aiosmtplib).

An e-mail leaves the health network's protection, so it says only what kind of task is
waiting, at which escalation level, and links to it: no patient name, no fødselsnummer,
nothing from the transition's free text.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from domain.notifications import NotificationReason, NotificationRequest
from domain.tasks import TaskKind
from foundation.settings import Settings

TASK_KIND_NO = {
    TaskKind.MUNICIPAL_INTAKE: "kommunens mottak av utskrivningsklar pasient",
    TaskKind.COOPERATION_MEETING: "samarbeidsmøte / ansvarsgruppe",
    TaskKind.COORDINATOR: "koordinator og individuell plan",
    TaskKind.HOUSING: "bolig",
    TaskKind.NAV: "NAV-oppfølging",
    TaskKind.LAR_INFORMED: "LAR-kontakt informert",
    TaskKind.FOLLOW_UP: "første kontakt etter utskrivning",
    TaskKind.LAR_CONSULTATION: "konsultasjon om LAR-endring",
    TaskKind.LAR_IMPLEMENTATION: "gjennomføring av LAR-endring",
    TaskKind.HANDOVER: "overføring til kommunal enhet",
}

REASON_NO = {
    NotificationReason.NEW_TASK: "Ny oppgave",
    NotificationReason.REMINDER: "Påminnelse",
    NotificationReason.ESCALATION: "Eskalert oppgave",
    NotificationReason.BOUNCED: "Oppgave videresendt",
    NotificationReason.DATE_CHANGED: "Ny forventet utskrivningsdato",
    NotificationReason.LAR_OBJECTION: "Kommunen motsetter seg LAR-endringen",
}


def task_link(settings: Settings, task_id: str) -> str:
    """The task's page (web: /oppgaver/{id}), where the signed-in reader sees what they may."""
    return f"{settings.api_base_url}/oppgaver/{task_id}"


def compose(settings: Settings, request: NotificationRequest, to: str) -> EmailMessage:
    """The message for one recipient; `request.key` becomes its Message-ID for deduplication."""
    kind = TASK_KIND_NO.get(request.task_kind, request.task_kind.value)
    reason = REASON_NO[request.reason]
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = f"{reason}: {kind} (nivå {request.level})"
    message["Message-ID"] = f"<{request.key.replace(':', '.')}.{to.split('@')[0]}@overgang>"
    message.set_content(
        f"{reason} i overgang.\n\n"
        f"Oppgave: {kind}\n"
        f"Eskaleringsnivå: {request.level}\n\n"
        f"Åpne oppgaven: {task_link(settings, request.task_id)}\n\n"
        "Pasientopplysninger sendes ikke på e-post; logg inn for å se dem.\n"
    )
    return message


class EmailChannel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, request: NotificationRequest, to: str) -> None:
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        await aiosmtplib.send(
            compose(settings, request, to),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_start_tls,
            timeout=settings.smtp_timeout_seconds,
        )
