"""Making a test's people and intake unit reachable by e-mail and webhook."""

from __future__ import annotations

from sqlalchemy import update

from store.database import Database
from store.tables import Person, Unit

from factories import DirectoryFactory


def address_of(person_id: str) -> str:
    return f"{person_id}@test.no"


async def make_reachable(
    db: Database, directory: DirectoryFactory, webhook_url: str, webhook_secret: str
) -> None:
    """Everyone gets an e-mail address; the intake unit gets its EPJ's webhook."""
    async with db.transaction() as session:
        for person_id in vars(directory.identity).values():
            await session.execute(
                update(Person).where(Person.id == person_id).values(email=address_of(person_id))
            )
        await session.execute(
            update(Unit)
            .where(Unit.id == directory.intake)
            .values(webhook_url=webhook_url, webhook_secret=webhook_secret)
        )
