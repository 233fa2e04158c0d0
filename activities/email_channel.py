"""E-mail notifications over SMTP (aiosmtplib).

An e-mail leaves the health network's protection, so it says only what kind of task is
waiting, at which escalation level, and links to it: no patient name, no fødselsnummer,
nothing from the transition's free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from domain.notifications import NotificationReason, NotificationRequest
from domain.tasks import TaskKind

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


@dataclass(frozen=True)
class EmailOptions:
    """What the e-mail channel needs, handed over by the worker (worker.email_options)."""

    base_url: str
    sender: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    timeout_seconds: float = 10.0


def task_link(base_url: str, task_id: str) -> str:
    """The task's page (web: /oppgaver/{id}), where the signed-in reader sees what they may."""
    return f"{base_url}/oppgaver/{task_id}"


def compose(options: EmailOptions, request: NotificationRequest, to: str) -> EmailMessage:
    """The message for one recipient; `request.key` becomes its Message-ID for deduplication."""
    kind = TASK_KIND_NO.get(request.task_kind, request.task_kind.value)
    reason = REASON_NO[request.reason]
    message = EmailMessage()
    message["From"] = options.sender
    message["To"] = to
    message["Subject"] = f"{reason}: {kind} (nivå {request.level})"
    message["Message-ID"] = f"<{request.key.replace(':', '.')}.{to.split('@')[0]}@overgang>"
    message.set_content(
        f"{reason} i overgang.\n\n"
        f"Oppgave: {kind}\n"
        f"Eskaleringsnivå: {request.level}\n\n"
        f"Åpne oppgaven: {task_link(options.base_url, request.task_id)}\n\n"
        "Pasientopplysninger sendes ikke på e-post; logg inn for å se dem.\n"
    )
    return message


class EmailChannel:
    def __init__(self, options: EmailOptions) -> None:
        self.options = options

    async def send(self, request: NotificationRequest, to: str) -> None:
        options = self.options
        await aiosmtplib.send(
            compose(options, request, to),
            hostname=options.host,
            port=options.port,
            username=options.username,
            password=options.password,
            start_tls=options.start_tls,
            timeout=options.timeout_seconds,
        )
