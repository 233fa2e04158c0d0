"""Who an escalation level's recipients are, resolved from the directory at send time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.escalation import Recipient
from domain.notifications import NotificationRequest
from store import directory
from store.tables import Person


async def resolve(session: AsyncSession, request: NotificationRequest) -> list[Person]:
    """The distinct people to reach, in a stable order."""
    people: dict[str, Person] = {}
    for recipient in request.recipients:
        for person in await _people_for(session, recipient, request):
            people.setdefault(person.id, person)
    return [people[key] for key in sorted(people)]


async def _people_for(
    session: AsyncSession, recipient: Recipient, request: NotificationRequest
) -> list[Person]:
    if recipient is Recipient.OWNER_UNIT:
        return await directory.contacts_of(session, request.owner_unit_id, backups=False)
    if recipient is Recipient.BACKUP_CONTACTS:
        return await directory.contacts_of(session, request.owner_unit_id, backups=True)
    leader_id = await _leader_id(session, recipient, request)
    person = await directory.get_person(session, leader_id) if leader_id else None
    return [person] if person is not None else []


async def _leader_id(
    session: AsyncSession, recipient: Recipient, request: NotificationRequest
) -> str | None:
    if recipient is Recipient.UNIT_LEADER:
        unit = await directory.get_unit(session, request.owner_unit_id)
        return unit.leader_id if unit else None
    if recipient is Recipient.ORIGIN_LEADER:
        unit = await directory.get_unit(session, request.origin_unit_id)
        return unit.leader_id if unit else None
    municipality = await directory.get_municipality(session, request.municipality_number)
    return municipality.leader_id if municipality else None
