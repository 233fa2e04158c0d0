"""Dependencies routes declare: the database session, Temporal, and the acting person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.auth.tokens import InvalidToken, TokenVerifier
from api.errors import Problem
from domain.actors import Actor, Role
from overgang.settings import Settings
from store import directory
from store.database import Database


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


async def db_session(db: Annotated[Database, Depends(get_db)]) -> AsyncIterator[AsyncSession]:
    """One transaction per request: a route's writes land together or not at all."""
    async with db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(db_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401,
            "Not authenticated",
            "send an OpenID Connect token as 'Authorization: Bearer <token>'",
        )
    return token


async def current_actor(request: Request, session: SessionDep) -> Actor:
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        claims = verifier.verify(_bearer(request))
    except InvalidToken as error:
        raise Problem(401, "Not authenticated", f"the token was refused: {error}") from error
    person = await directory.get_person(session, claims.subject)
    if person is None:
        raise Problem(401, "Not authenticated", f"{claims.subject} is not in the directory")
    units = await directory.acting_unit_ids(session, person.id)
    return Actor(
        person_id=person.id,
        roles=frozenset(Role(r) for r in person.roles),
        unit_ids=frozenset(units),
    )


ActorDep = Annotated[Actor, Depends(current_actor)]
