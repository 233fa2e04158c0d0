"""Who is using the pages: the signed-in person as an Actor, and the CSRF check on forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.auth import people
from api.auth.access import Scope
from api.deps import SessionDep, current_scope
from domain.actors import Actor
from web import sessions


@dataclass(frozen=True)
class SignedIn:
    """Who the page header names; a plain value, usable after the database session closed."""

    id: str
    name: str


class SignInRequired(Exception):
    """No one is signed in (or the person left the directory): go to the sign-in page."""


class CsrfRefused(Exception):
    """A form came without the session's CSRF token."""


def mark_web(request: Request) -> None:
    """Errors on these routes are answered with pages, not problem+json."""
    request.state.web = True


async def web_actor(request: Request, session: SessionDep) -> Actor:
    person_id = sessions.current_session(request).person_id
    person = await people.person(session, person_id) if person_id else None
    if person is None:
        raise SignInRequired
    actor = await people.actor_of(session, person)
    request.state.actor = actor  # the audit log names who was refused (api.audit)
    request.state.web_person = SignedIn(id=person.id, name=person.name)
    request.state.web_roles = frozenset(r.value for r in actor.roles)
    return actor


async def web_scope(actor: Annotated[Actor, Depends(web_actor)], session: SessionDep) -> Scope:
    """The signed-in person with what they lead, as the API's authorization rules want it."""
    return await current_scope(actor, session)


async def verify_csrf(request: Request) -> None:
    form = await request.form()
    if not sessions.csrf_valid(sessions.current_session(request), form.get("csrf_token")):
        raise CsrfRefused


WebActor = Annotated[Actor, Depends(web_actor)]
WebScope = Annotated[Scope, Depends(web_scope)]
CsrfChecked = Depends(verify_csrf)
