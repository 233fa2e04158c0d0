"""What Temporal stores and shows: the SQLite db file holds no readable patient data (the
payload codec encrypts it), and escalated transitions are found by a visibility query, as
`temporal workflow list --query "EscalationLevel > 0"` does."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from overgang.embedded import TemporalDevServer
from overgang.embedded.temporal_server import temporal_binary
from workflows.discharge import DischargeInput

from factories import DirectoryFactory, fast_levels, make_fodselsnummer, start_discharge
from polling import eventually


def snapshot(db_file: Path, into: Path) -> Path:
    """A consistent copy of the live db (WAL included), opened without touching the original."""
    source = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    copy = into / "temporal-copy.db"
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    return copy


def cells_containing(db_file: Path, needle: str) -> list[str]:
    """Every (table.column) whose text or blob contains `needle` in UTF-8."""
    raw = needle.encode()
    found = []
    with sqlite3.connect(db_file) as connection:
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            columns = [r[1] for r in connection.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for (value,) in connection.execute(f'SELECT "{column}" FROM "{table}"'):
                    data = value.encode() if isinstance(value, str) else value
                    if isinstance(data, bytes) and raw in data:
                        found.append(f"{table}.{column}")
    return found


async def test_temporal_db_holds_no_readable_patient_data(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    temporal: Client,
    state_dir: Path,
    tmp_path: Path,
) -> None:
    fodselsnummer = make_fodselsnummer()
    name = f"Ingrid Hemmelig {uuid.uuid4().hex[:6]}"
    what_matters = f"Å få se barna mine igjen {uuid.uuid4().hex[:8]}"
    started = await start_discharge(
        app_client,
        directory,
        patient={"fodselsnummer": fodselsnummer, "name": name},
        what_matters=what_matters,
        needs={"housing": True},
        consents={"share_with_housing_office": True},
    )
    handle = temporal.get_workflow_handle(started["workflow_id"])
    # Readable through the client (it holds the key), so the text really is in the history.
    history = await handle.fetch_history()
    payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert what_matters not in history.to_json()
    [started_with] = await temporal.data_converter.decode(payloads, [DischargeInput])
    assert started_with.start.what_matters == what_matters

    copy = snapshot(state_dir / "temporal.db", tmp_path)
    # The workflow id is plain text in the db: proof that we are reading the right file.
    assert cells_containing(copy, started["workflow_id"])
    for secret in (fodselsnummer, name, what_matters):
        assert cells_containing(copy, secret) == [], secret


async def test_escalated_transitions_are_listed_by_escalation_level(
    app_client: httpx.AsyncClient,
    directory: DirectoryFactory,
    temporal: Client,
    temporal_server: TemporalDevServer,
) -> None:
    await directory.set_policy(fast_levels(seconds=1), version=2)
    escalated = await start_discharge(app_client, directory)
    await directory.set_policy(fast_levels(seconds=3600), version=3)
    calm = await start_discharge(app_client, directory)

    query = f'EscalationLevel > 0 AND MunicipalityNumber = "{directory.number}"'

    async def listed() -> list[str] | None:
        ids = [w.id async for w in temporal.list_workflows(query)]
        return ids if escalated["workflow_id"] in ids else None

    ids = await eventually(listed, timeout=30, what="the escalated transition in the list")
    assert calm["workflow_id"] not in ids
    description = await temporal.get_workflow_handle(escalated["workflow_id"]).describe()
    attributes = description.typed_search_attributes
    assert any(p.key.name == "EscalationLevel" and p.value >= 1 for p in attributes)
    listed_by_cli = await cli_list(temporal_server.address, query)
    assert escalated["workflow_id"] in listed_by_cli
    assert calm["workflow_id"] not in listed_by_cli


async def cli_list(address: str, query: str) -> list[str]:
    """What an operator sees with `temporal workflow list --query ...`."""
    process = await asyncio.create_subprocess_exec(
        str(temporal_binary()),
        *("workflow", "list", "--address", address, "--query", query, "--output", "json"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return [item["execution"]["workflowId"] for item in json.loads(out or b"[]")]
