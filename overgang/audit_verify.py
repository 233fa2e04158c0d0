"""`overgang audit verify`: walk the audit log's hash chain and name the first broken row."""

from __future__ import annotations

import asyncio

from foundation.settings import Settings
from store import audit
from store.database import Database


async def verify_database(database_url: str) -> audit.Verification:
    db = Database(database_url, pool_size=1)
    try:
        async with db.transaction() as session:
            return await audit.verify_chain(session)
    finally:
        await db.dispose()


def report(result: audit.Verification) -> tuple[int, str]:
    """The exit code and the lines to print.

    Deleting the newest rows leaves a shorter chain that still links, so the head (last
    row and hash) is printed: kept outside the database, it shows such a truncation."""
    if result.broken is None:
        return 0, (
            f"audit log intact: {result.checked} rows, chain unbroken\n"
            f"head: row {result.checked} hash {result.head_hash}"
        )
    return 1, (
        f"audit log BROKEN at row {result.broken.row_id}: {result.broken.problem} "
        f"({result.checked} rows before it are intact)"
    )


def verify_command(settings: Settings, database_url: str | None = None) -> int:
    from overgang.stack import existing_services

    if database_url is None:
        database_url, _ = asyncio.run(existing_services(settings))
    code, line = report(asyncio.run(verify_database(database_url)))
    print(line)
    return code
