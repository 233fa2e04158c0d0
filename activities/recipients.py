"""Who an escalation level's recipients are, resolved from the directory at send time.

A contact who is absent (ferie, sykefravær) is replaced by their substitute for as long as
the absence runs; the delivery records whom the substitute stood in for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.escalation import Recipient
from domain.notifications import NotificationRequest
from store import absences, directory
from store.tables import Person

# A substitute may be away too; follow the chain this far, then give up on substituting.
MAX_SUBSTITUTION_HOPS = 3


@dataclass(frozen=True)
class Addressee:
    person: Person
    on_behalf_of: str | None = None


async def resolve(
    session: AsyncSession, request: NotificationRequest, at: datetime
) -> list[Addressee]:
    """The distinct people to reach at `at`, substitutes in place of absent ones, stably ordered."""
    reached: dict[str, Addressee] = {}
    for recipient in request.recipients:
        for person in await _people_for(session, recipient, request):
            addressee = await _stand_in(session, person, at)
            reached.setdefault(addressee.person.id, addressee)
    only = set(request.only_person_ids)  # a fallback is for the people a channel failed
    return [reached[key] for key in sorted(reached) if not only or key in only]


async def _stand_in(session: AsyncSession, person: Person, at: datetime) -> Addressee:
    current, seen = person, {person.id}
    for _ in range(MAX_SUBSTITUTION_HOPS):
        substitute_id = await absences.substitute_for(session, current.id, at)
        if substitute_id is None or substitute_id in seen:
            break
        substitute = await directory.get_person(session, substitute_id)
        if substitute is None:
            break
        current = substitute
        seen.add(substitute_id)
    if current.id == person.id:
        return Addressee(person)
    return Addressee(current, on_behalf_of=person.id)


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
