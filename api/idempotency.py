"""Idempotency-Key on the routes that start transitions: a retry gets the first answer.

The workflow id is already derived from (person, key), so a retry can never start a second
workflow; storing the first answer makes the retry's body exactly the first one, and lets us
refuse a key reused for a different request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem
from domain.actors import Actor
from store import idempotency
from store.idempotency import IdempotentAnswer

Answer = TypeVar("Answer", bound=BaseModel)


def _route(request: Request) -> str:
    return str(getattr(request.scope.get("route"), "path", request.url.path))[:120]


def _fingerprint(body: BaseModel) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _reused(key: str) -> Problem:
    message = f"{key!r} was already used for a different request; use a new key"
    return Problem(
        422,
        "Invalid request",
        f"Idempotency-Key: {message}",
        errors=[{"field": "Idempotency-Key", "message": message}],
    )


async def first_answer(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    key: str | None,
    body: BaseModel,
    answer_type: type[Answer],
    run: Callable[[], Awaitable[Answer]],
) -> Answer:
    """The stored answer for (person, route, key) if there is one, else run and store it."""
    if key is None:
        return await run()
    route, fingerprint = _route(request), _fingerprint(body)
    found = await idempotency.find(session, actor_id=actor.person_id, route=route, key=key)
    if found is not None:
        if found.request_hash != fingerprint:
            raise _reused(key)
        request.state.idempotent_replay = True  # metrics count no second start
        return answer_type.model_validate(found.body)
    answer = await run()
    stored = IdempotentAnswer(
        actor_id=actor.person_id,
        route=route,
        key=key,
        request_hash=fingerprint,
        status=201,
        body=answer.model_dump(mode="json"),
        created_at=datetime.now(UTC),
    )
    await idempotency.remember(session, stored)
    return answer
