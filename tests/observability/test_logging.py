"""Log lines fit to operate: JSON unless a person reads a terminal, the request's id on every
line made while serving it, and no patient data even when an error echoes it."""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client

from foundation.observability import configure_logging, log_handler, wants_json
from foundation.settings import Settings
from overgang.app import attach, create_app
from store.database import Database

from factories import make_fodselsnummer

PATIENT_NAME = "Kari Nordmann"


@pytest.fixture
def captured(settings: Settings) -> Iterator[dict[str, io.StringIO]]:
    """The production handler in both formats on the root logger, for one test."""
    streams = {"json": io.StringIO(), "plain": io.StringIO()}
    handlers = [
        log_handler(settings.model_copy(update={"log_format": kind}), stream)
        for kind, stream in streams.items()
    ]
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    yield streams
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


class PatientIn(BaseModel):
    fodselsnummer: int
    name: int


async def real_errors(db: Database, fodselsnummer: str) -> list[Exception]:
    """Errors as the libraries make them, echoing what they were given."""
    errors: list[Exception] = []
    try:
        PatientIn.model_validate({"fodselsnummer": "x", "name": PATIENT_NAME})
    except ValidationError as error:
        errors.append(error)
    for sql in ("select cast(:name as integer), :fnr", "select cast(cast(:name as text) as int)"):
        try:
            async with db.transaction() as session:
                await session.execute(text(sql), {"name": PATIENT_NAME, "fnr": fodselsnummer})
        except DBAPIError as error:
            errors.append(error)
    return errors


async def test_no_patient_data_reaches_a_log_line(
    captured: dict[str, io.StringIO], db: Database
) -> None:
    fodselsnummer, spaced = make_fodselsnummer(), make_fodselsnummer()
    spaced = f"{spaced[:6]} {spaced[6:]}"
    workflow_id = f"discharge-{uuid.uuid4()}"
    log = logging.getLogger("overgang.test")
    log.warning("looked up %s and %s for %s", fodselsnummer, spaced, workflow_id)
    errors = await real_errors(db, fodselsnummer)
    assert len(errors) == 3
    for error in errors:
        assert PATIENT_NAME in str(error), "the library does echo it"
        log.error("failed", exc_info=error)
    for kind, stream in captured.items():
        output = stream.getvalue()
        assert fodselsnummer not in output and spaced not in output, kind
        assert PATIENT_NAME not in output, kind
        assert workflow_id in output, f"{kind}: ids are not mistaken for fødselsnummer"
        assert output.count("Traceback (most recent call last)") >= 3, kind
    lines = captured["json"].getvalue().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["logger"] == "overgang.test" for line in lines)


def test_json_unless_a_person_reads_a_terminal(settings: Settings) -> None:
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal, os.fdopen(leader, "rb"):
        pipe = io.StringIO()
        development = settings.model_copy(update={"environment": "development"})
        production = settings.model_copy(update={"environment": "production"})
        assert not wants_json(development, terminal)
        assert wants_json(development, pipe)
        assert wants_json(production, terminal)
        forced = development.model_copy(update={"log_format": "plain"})
        assert not wants_json(forced, pipe)


async def test_a_requests_lines_carry_its_id(
    captured: dict[str, io.StringIO], settings: Settings, db: Database, temporal: Client
) -> None:
    app = create_app(settings, database_url=db.url)
    attach(app, db, temporal)

    @app.get("/probe/log")
    async def probe() -> dict[str, str]:
        logging.getLogger("overgang.probe").info("serving the probe")
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://log.test") as http:
        answer = await http.get("/probe/log")
    request_id = answer.headers["x-request-id"]
    [line] = [
        json.loads(line)
        for line in captured["json"].getvalue().splitlines()
        if "serving the probe" in line
    ]
    assert line["request_id"] == request_id and line["level"] == "INFO"
    assert f"request_id={request_id}" in captured["plain"].getvalue()


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging replaces the root's handlers: give pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    own = {name: logging.getLogger(name).level for name in ("api", "alembic")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, previous in own.items():
        logging.getLogger(name).setLevel(previous)


def test_our_info_lines_without_the_libraries_chatter(
    settings: Settings, restored_logging: None
) -> None:
    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json"}), stream)
    logging.getLogger("alembic.runtime.migration").info("Will assume transactional DDL.")
    logging.getLogger("api.probe").info("ours")
    logging.getLogger("alembic.runtime.migration").warning("a library's warning")
    lines = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert lines == ["ours", "a library's warning"]
