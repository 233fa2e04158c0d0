"""Logs and traces fit to operate, for the API and the worker alike.

Logs: one line per record, JSON unless a person reads them at a terminal (always JSON in
production), each carrying the request, workflow and transition ids where known. No patient
data belongs in a log; :class:`PatientDataFilter` is the last line of defence that masks what
slipped through anyway (11-digit numbers, pydantic's echo of input values, SQL parameters).

This module imports neither Temporal nor OpenTelemetry: every `overgang` command configures
logging, and `overgang token` should not wait seconds for libraries it does not use. What
they add to a line (the activity's ids, the current span) is read only where they are loaded.
Tracing is set up in foundation/tracing.py.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from foundation.settings import Settings

# Our packages, and the SDK loggers our workflows and activities write through.
OWN_LOGGERS = (
    *("domain", "foundation", "workflows", "activities", "api", "store", "web", "overgang"),
    *("temporalio.activity", "temporalio.workflow"),
)
REQUEST_ID: ContextVar[str | None] = ContextVar("overgang_request_id", default=None)
# The fields a line may carry beside its message; nothing else of a record is written out.
CONTEXT_FIELDS = (
    "request_id",
    "workflow_id",
    "transition_id",
    "activity",
    "attempt",
    "error",
    "trace_id",
    "span_id",
)
# Workflow ids end in the transition's UUID (discharge-<uuid>, handover-<uuid>, ...).
TRAILING_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A fødselsnummer or D-number: 11 digits, possibly split 6+5, not part of a longer number or
# of an identifier (UUIDs and trace ids are hex runs joined by letters and dashes).
ELEVEN_DIGITS = re.compile(r"(?<![0-9A-Za-z-])\d{6}[ ]?\d{5}(?![0-9A-Za-z-])")
MASK = "<masked>"
# Where libraries echo the values they were given in their error messages: pydantic, the
# parameters SQLAlchemy prints, asyncpg's argument check, PostgreSQL's input and key errors.
ECHOED_VALUES = [
    (re.compile(r"(input_value=).*?(?=, input_type=|\]$|$)", re.MULTILINE), rf"\g<1>{MASK}"),
    (re.compile(r"(\[parameters: ).*?(?=\]\n|\]$)", re.DOTALL), rf"\g<1>{MASK}"),
    (re.compile(r"(query argument \$\d+: ).*?(?= \(|$)", re.MULTILINE), rf"\g<1>{MASK}"),
    (re.compile(r"(invalid input syntax for type [\w ]+: ).*$", re.MULTILINE), rf"\g<1>{MASK}"),
    (re.compile(r"(Key \(.*?\)=\().*?(?=\))", re.MULTILINE), rf"\g<1>{MASK}"),
]


def mask_patient_data(text: str) -> str:
    """Mask what looks like a fødselsnummer and the values errors echo back."""
    text = ELEVEN_DIGITS.sub(MASK, text)
    for pattern, replacement in ECHOED_VALUES:
        text = pattern.sub(replacement, text)
    return text


def transition_id_of(workflow_id: str | None) -> str | None:
    found = TRAILING_UUID.search(workflow_id or "")
    return found.group(0) if found else None


class PatientDataFilter(logging.Filter):
    """Renders the message and traceback once, masked, before any formatter sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_patient_data(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_patient_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_patient_data(record.stack_info)
        return True


class ContextFilter(logging.Filter):
    """Adds the ids known where the record was made: request, workflow, transition, trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context(record).items():
            if getattr(record, name, None) is None and value is not None:
                setattr(record, name, value)
        return True


def _context(record: logging.LogRecord) -> dict[str, Any]:
    temporal = _temporal_details(record)
    workflow_id = getattr(record, "workflow_id", None) or temporal.get("workflow_id")
    return {
        "request_id": REQUEST_ID.get(),
        "workflow_id": workflow_id,
        "transition_id": transition_id_of(workflow_id),
        "activity": temporal.get("activity_type"),
        "attempt": temporal.get("attempt"),
        **_current_span_ids(),
    }


def _current_span_ids() -> dict[str, str]:
    trace = sys.modules.get("opentelemetry.trace")
    span = trace.get_current_span().get_span_context() if trace else None
    if span is None or not span.is_valid:
        return {}
    return {"trace_id": f"{span.trace_id:032x}", "span_id": f"{span.span_id:016x}"}


def _temporal_details(record: logging.LogRecord) -> dict[str, Any]:
    """What the SDK's loggers attach, or the running activity's own info."""
    details = getattr(record, "temporal_activity", None) or getattr(
        record, "temporal_workflow", None
    )
    if isinstance(details, dict):
        return details
    activity = sys.modules.get("temporalio.activity")
    if activity is not None and activity.in_activity():
        info = activity.info()
        return {"workflow_id": info.workflow_id, "activity_type": info.activity_type}
    return {}


def context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ids and error summary a line carries, masked like the message (an error's summary
    may echo a value)."""
    fields = {name: value for name in CONTEXT_FIELDS if (value := getattr(record, name, None))}
    return {k: mask_patient_data(v) if isinstance(v, str) else v for k, v in fields.items()}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_patient_data(record.getMessage()),
            **context_fields(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = mask_patient_data(record.exc_text)
        # Masking the whole line again only for digits: that keeps the JSON valid.
        return ELEVEN_DIGITS.sub(MASK, json.dumps(entry, ensure_ascii=False, default=str))


class PlainFormatter(logging.Formatter):
    """For a developer at a terminal: the message, then the ids in brackets."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in context_fields(record).items())
        line = super().formatMessage(record)
        return mask_patient_data(f"{line} [{fields}]" if fields else line)


def wants_json(settings: Settings, stream: IO[str]) -> bool:
    if settings.log_format != "auto":
        return settings.log_format == "json"
    return settings.environment == "production" or not _is_terminal(stream)


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def log_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """The one handler every log line goes through: ids added, patient data masked."""
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter() if wants_json(settings, target) else PlainFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(PatientDataFilter())
    return handler


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with :func:`log_handler` (once per process). Our
    own loggers log from settings.log_level, libraries from WARNING: at INFO, alembic and the
    embedded servers' helpers would drown what overgang says."""
    level = logging.getLevelName(settings.log_level.upper())
    root_level = max(level, logging.WARNING) if isinstance(level, int) else logging.WARNING
    logging.basicConfig(level=root_level, handlers=[log_handler(settings, stream)], force=True)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


def adopt_uvicorn_loggers() -> None:
    """uvicorn installs plain handlers of its own when it starts: once this process has
    configured logging, its lines go through our handler instead."""
    ours = any(
        isinstance(f, PatientDataFilter) for h in logging.getLogger().handlers for f in h.filters
    )
    if not ours:
        return
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def configure_process(settings: Settings, command: str) -> None:
    """For a process the CLI starts: logs first, so that what follows can say what it did;
    `overgang worker` alone serves its own /metrics (elsewhere the API's carries them)."""
    configure_logging(settings)
    if settings.otel_exporter_otlp_endpoint:
        from foundation.tracing import configure_tracing

        configure_tracing(settings)
    if command == "worker":
        from foundation.telemetry import serve_worker_metrics

        serve_worker_metrics(settings)
