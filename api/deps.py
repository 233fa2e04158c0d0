"""Dependencies routes declare: the database session, Temporal, and the acting person."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.audit import recorder
from api.auth import people
from api.auth.access import Scope, scope_for
from api.auth.tokens import InvalidToken, TokenVerifier
from api.errors import RETRY_AFTER_SECONDS, Problem
from domain.actors import Actor
from foundation.settings import Settings
from store.database import Database


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


async def db_session(
    request: Request, db: Annotated[Database, Depends(get_db)]
) -> AsyncIterator[AsyncSession]:
    """One transaction per request: a route's writes (its audit rows included) land together
    or not at all. A service may commit early (e.g. before starting a workflow); what it writes
    afterwards commits here. Function scope: the commit runs before the response is sent, so a
    failed commit becomes a 503 instead of a 200 for a write that never happened."""
    async with db.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await recorder.flush(session, request)
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(db_session, scope="function")]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# Documents the scheme in OpenAPI; the check itself is ours, so it answers in problem+json.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="OpenID Connect bearer token",
    description="A JWT from the configured OIDC issuer (HelseID in production); in the "
    "embedded default, `overgang token USER_ID` prints one.",
)


def _bearer(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Problem(
            401,
            "Not authenticated",
            "send an OpenID Connect token as 'Authorization: Bearer <token>'",
        )
    return credentials.credentials


async def current_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Actor:
    verifier: TokenVerifier = request.app.state.token_verifier
    token = _bearer(request, credentials)
    try:
        # In a thread: fetching the issuer's JWKS (rarely, it is cached) is blocking I/O.
        claims = await asyncio.to_thread(verifier.verify, token)
    except InvalidToken as error:
        if isinstance(error.__cause__, jwt.PyJWKClientConnectionError):
            raise Problem(
                503,
                "Service unavailable",
                "the identity provider's keys (JWKS) could not be fetched; try again shortly",
                retry_after=RETRY_AFTER_SECONDS,
            ) from error
        raise Problem(401, "Not authenticated", f"the token was refused: {error}") from error
    person = await people.person_signing_in(session, claims.subject, claims.hpr_number)
    if person is None:
        raise Problem(401, "Not authenticated", f"{claims.subject} is not in the directory")
    actor = await people.actor_of(session, person)
    request.state.actor = actor  # for the audit row of a refusal (api.audit.refusals)
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


async def current_scope(actor: ActorDep, session: SessionDep) -> Scope:
    """The caller as the access model sees them now (api.auth.access)."""
    return await scope_for(session, actor)


ScopeDep = Annotated[Scope, Depends(current_scope)]
