"""`overgang backup` and `overgang restore` for the embedded default.

A backup is one .tar.gz: a pg_dump of the database, a copy of the Temporal dev server's
SQLite file, the caught mail, and a manifest. The two databases are copied at the same
moment, Temporal first: the SQLite copy reads inside a read transaction opened before
PostgreSQL's snapshot is exported, so PostgreSQL is at most a few milliseconds newer. That
is the order a crash leaves (the API writes a patient before it starts a workflow, and an
activity writes before Temporal records it done), so a restore is like a restart after a
crash at that moment, which the workflows are built for. With `overgang up` stopped the
copy is exact. A restore builds the new state beside the old one, then swaps them; the old
state is kept under the state folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from foundation.settings import Settings
from overgang.embedded.leftovers import (
    AlreadyRunning,
    postgres_leftover,
    running_up,
    stop_postgres_leftover,
    stop_temporal_leftover,
    temporal_leftovers,
    up_lock,
)
from overgang.embedded.postgres import (
    DATABASE,
    SUPERUSER,
    EmbeddedPostgres,
    postgres_binary,
)

FORMAT = 1
MANIFEST, DUMP, TEMPORAL_DB, MAIL = "manifest.json", "postgres.dump", "temporal.db", "mail"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def default_path(now: datetime) -> Path:
    return Path.cwd() / f"overgang-backup-{now:%Y%m%d-%H%M%S}.tar.gz"


async def backup(settings: Settings, path: Path | None = None) -> Path:
    """Write a backup of the embedded state to path (default: the current folder)."""
    _require_embedded(settings)
    if not settings.temporal_db_file.exists():
        raise BackupError(f"nothing to back up: {settings.temporal_db_file} does not exist")
    target = (path or default_path(datetime.now(UTC))).resolve()
    with tempfile.TemporaryDirectory(dir=settings.state_dir.resolve()) as folder:
        work = Path(folder)
        taken_at = await _copy_databases(settings, work)
        if settings.caught_mail_dir.is_dir():
            shutil.copytree(settings.caught_mail_dir, work / MAIL)
        manifest = _manifest(settings, taken_at)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        await asyncio.to_thread(_pack, work, target)
    return target


def _require_embedded(settings: Settings) -> None:
    if not (settings.embedded_postgres and settings.embedded_temporal):
        raise BackupError(
            "backup and restore cover the embedded default only; with DATABASE_URL or "
            "TEMPORAL_ADDRESS set, use PostgreSQL's and your Temporal cluster's own tools"
        )


def _manifest(settings: Settings, taken_at: datetime) -> dict[str, object]:
    return {
        "format": FORMAT,
        "taken_at": taken_at.isoformat(),
        "taken_while_up_ran": running_up(settings.state_dir.resolve()) is not None,
        # Temporal's payloads are encrypted: a restore needs these keys (not kept here).
        "codec_key_ids": sorted(settings.codec_keys),
    }


async def _copy_databases(settings: Settings, work: Path) -> datetime:
    """Copy both databases as of one moment, and return that moment."""
    postgres = EmbeddedPostgres(settings.postgres_dir)
    started_here = not postgres.is_running()
    url = await asyncio.to_thread(postgres.start)  # up's server if it runs, else our own
    try:
        with _temporal_read_transaction(settings.temporal_db_file) as temporal:
            taken_at = datetime.now(UTC)
            async with _exported_snapshot(url) as snapshot:
                await asyncio.to_thread(_copy_sqlite, temporal, work / TEMPORAL_DB)
                await asyncio.to_thread(_pg_dump, postgres.socket_dir, snapshot, work / DUMP)
    finally:
        if started_here:
            await asyncio.to_thread(postgres.stop)
    return taken_at


@contextlib.contextmanager
def _temporal_read_transaction(db_file: Path) -> Iterator[sqlite3.Connection]:
    """A connection whose snapshot of the history is fixed from now on (WAL read lock)."""
    # Used from a worker thread too (the copy), one thread at a time.
    connection = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("BEGIN")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        yield connection
    finally:
        connection.close()


@contextlib.asynccontextmanager
async def _exported_snapshot(url: str) -> AsyncIterator[str]:
    """A PostgreSQL snapshot id that pg_dump can share while this transaction stays open."""
    engine = create_async_engine(url, isolation_level="REPEATABLE READ")
    try:
        async with engine.connect() as connection, connection.begin():
            yield await _export(connection)
    finally:
        await engine.dispose()


async def _export(connection: AsyncConnection) -> str:
    return str(await connection.scalar(text("SELECT pg_export_snapshot()")))


def _copy_sqlite(source: sqlite3.Connection, target_file: Path) -> None:
    """The source's open read transaction is the snapshot the backup API copies."""
    with contextlib.closing(sqlite3.connect(target_file)) as target:
        source.backup(target)
        # A self-contained file (no -wal beside it); the server turns WAL back on.
        target.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite(target)


def _check_sqlite(connection: sqlite3.Connection) -> None:
    result = connection.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"the Temporal database copy fails its check: {result}")


def _pg_dump(socket_dir: Path, snapshot: str, target: Path) -> None:
    command = [str(postgres_binary("pg_dump")), "-h", str(socket_dir), "-U", SUPERUSER]
    command += ["-d", DATABASE, f"--snapshot={snapshot}", "--format=custom", "-f", str(target)]
    _run(command, "pg_dump")


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()}")


def _pack(work: Path, target: Path) -> None:
    """Write to a neighbour first: a half-written backup never carries the final name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        for name in (MANIFEST, DUMP, TEMPORAL_DB, MAIL):
            if (work / name).exists():
                archive.add(work / name, arcname=name)
    partial.replace(target)


# --- restore -----------------------------------------------------------------------------


async def restore(settings: Settings, archive: Path) -> str:
    """Replace the embedded state by a backup's; returns where the old state was kept."""
    _require_embedded(settings)
    state = settings.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    try:
        with up_lock(state):  # `up` cannot start while the state is being replaced
            return await _restore(settings, archive)
    except AlreadyRunning as running:
        raise BackupError(
            f"overgang up is running (pid {running.pid}) on {state}; stop it first (Ctrl-C in "
            f"its terminal, or kill -TERM {running.pid}) and restore again. Nothing was changed."
        ) from None


async def _restore(settings: Settings, archive: Path) -> str:
    with tempfile.TemporaryDirectory(dir=settings.state_dir.resolve()) as folder:
        work = Path(folder)
        manifest = await asyncio.to_thread(_unpack, archive, work)
        await _stop_leftovers(settings)
        await asyncio.to_thread(_restore_postgres, work / DUMP, work / "postgres")
        kept = _swap_in(settings, work, datetime.now(UTC))
    return f"{manifest['taken_at']}; the state before the restore is kept in {kept}"


def _unpack(archive: Path, work: Path) -> dict[str, object]:
    if not archive.is_file():
        raise BackupError(f"no backup at {archive}")
    with tarfile.open(archive, "r:gz") as packed:
        packed.extractall(work, filter="data")  # no absolute paths, links or devices
    manifest = json.loads((work / MANIFEST).read_text())
    if manifest.get("format") != FORMAT or not (work / DUMP).is_file():
        raise BackupError(f"{archive} is not an overgang backup this version can read")
    with contextlib.closing(sqlite3.connect(work / TEMPORAL_DB)) as temporal:
        _check_sqlite(temporal)
    return dict(manifest)


async def _stop_leftovers(settings: Settings) -> None:
    """Servers on the state folder without `up` (a short command's, a killed run's)."""
    pid_file = settings.state_dir.resolve() / "temporal.pid"
    for process in temporal_leftovers(settings.temporal_db_file, pid_file):
        await asyncio.to_thread(stop_temporal_leftover, process)
    if postgres_leftover(settings.postgres_dir) is not None:
        await asyncio.to_thread(stop_postgres_leftover, settings.postgres_dir)


def _restore_postgres(dump: Path, data_dir: Path) -> None:
    """A new data folder with the dump loaded, beside the live one."""
    server = EmbeddedPostgres(data_dir)
    server.start()
    try:
        command = [str(postgres_binary("pg_restore")), "-h", str(server.socket_dir)]
        command += ["-U", SUPERUSER, "-d", DATABASE, "--no-owner", "--exit-on-error"]
        _run([*command, "--single-transaction", str(dump)], "pg_restore")
    finally:
        server.stop()


def _swap_in(settings: Settings, work: Path, now: datetime) -> Path:
    """Move the live state aside and the restored one in (renames, one filesystem)."""
    state = settings.state_dir.resolve()
    kept = state / f"before-restore-{now:%Y%m%d-%H%M%S}"
    kept.mkdir()
    db = settings.temporal_db_file
    # The -wal and -shm files belong to the old database: left beside the new one, SQLite
    # would replay the old log into it.
    live = [settings.postgres_dir, db, _beside(db, "-wal"), _beside(db, "-shm")]
    for path in [*live, settings.caught_mail_dir]:
        if path.exists():
            path.rename(kept / path.name)
    (work / "postgres").rename(settings.postgres_dir)
    (work / TEMPORAL_DB).rename(db)
    if (work / MAIL).is_dir():
        (work / MAIL).rename(settings.caught_mail_dir)
    return kept


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)
