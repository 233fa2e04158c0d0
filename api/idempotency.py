"""Idempotency-Key on every state-changing route: a retry gets the first answer.

One mechanism for all commands: a router made with ``route_class=IdempotentRoute`` gives
each of its POST, PUT, PATCH and DELETE routes an optional ``Idempotency-Key`` header.
- The first answer to (person, route, key) is kept in ``idempotent_answers`` in the same
  transaction as the command's own writes, and a retry gets it back as it was (with
  ``Idempotent-Replayed: true``); a key reused for a different request is refused (422).
- A command that is a workflow Update runs under an update id derived from (person, method,
  path, key) (:func:`execute_update`). If the process died after Temporal applied the
  update but before the answer was kept, the retry sends the same update id, and Temporal
  itself returns the first outcome instead of applying the command again.
- A command that starts a workflow derives the workflow id from the key (discharges, LAR
  changes), so a retry starts nothing twice.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ActorDep, SessionDep
from api.errors import Problem
from api.updates import update_for
from store import idempotency
from store.idempotency import IdempotentAnswer

Result = TypeVar("Result")
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPDATE_ID_NAMESPACE = uuid.UUID("0b9e4f57-3c1a-4e8e-9d3b-6a2f8c1e7d45")
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class KeyedCommand:
    """The request being served under an Idempotency-Key, and the session it writes with."""

    actor_id: str
    route: str  # method and path template: what the stored answer is keyed by
    target: str  # method and the actual path: what the update id is derived from
    key: str
    fingerprint: str
    session: AsyncSession

    def update_id(self) -> str:
        name = f"{self.actor_id}:{self.target}:{self.key}"
        return str(uuid.uuid5(UPDATE_ID_NAMESPACE, name))

    async def remember(self, answer: Any, status: int) -> None:
        body = answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer
        stored = IdempotentAnswer(
            actor_id=self.actor_id,
            route=self.route,
            key=self.key,
            request_hash=self.fingerprint,
            status=status,
            body=jsonable_encoder(body),
            created_at=datetime.now(UTC),
        )
        await idempotency.remember(self.session, stored)


_command: ContextVar[KeyedCommand | None] = ContextVar("idempotent_command", default=None)


class Replay(Exception):
    """Raised by the dependency when the answer is already known; the route answers it."""

    def __init__(self, answer: IdempotentAnswer) -> None:
        super().__init__(answer.key)
        self.answer = answer

    def response(self) -> Response:
        return JSONResponse(
            self.answer.body, status_code=self.answer.status, headers={REPLAYED_HEADER: "true"}
        )


def update_id() -> str | None:
    """The update id for the command being served; None without an Idempotency-Key."""
    command = _command.get()
    return command.update_id() if command else None


async def execute_update(
    handle: WorkflowHandle[Any, Any],
    command: BaseModel,
    result_type: type[Result],
    *,
    refuse_when_closed: Callable[[], None] | None = None,
) -> Result:
    """Run a command as the workflow's Update, under the derived update id when keyed.
    `refuse_when_closed` refuses a command to a finished workflow; with a key it runs only
    if Temporal has no outcome for the update, so a retry still gets the first one."""
    keyed = update_id()
    if keyed is None:
        if refuse_when_closed is not None:
            refuse_when_closed()
        return _answer(await handle.execute_update(update_for(command), command), result_type)
    try:
        answer = await handle.execute_update(update_for(command), command, id=keyed)
    except RPCError as error:  # "workflow execution already completed"
        if refuse_when_closed is not None and error.status is RPCStatusCode.NOT_FOUND:
            refuse_when_closed()
        raise
    return _answer(answer, result_type)


def _answer(answer: object, result_type: type[Result]) -> Result:
    if not isinstance(answer, result_type):  # the Update's declared result decoded it
        raise TypeError(f"expected {result_type.__name__}, got {type(answer).__name__}")
    return answer


def _reused(key: str) -> Problem:
    message = f"{key!r} was already used for a different request; use a new key"
    return Problem(
        422,
        "Invalid request",
        f"Idempotency-Key: {message}",
        errors=[{"field": "Idempotency-Key", "message": message}],
    )


def _route(request: Request) -> str:
    template = getattr(request.scope.get("route"), "path", request.url.path)
    return f"{request.method} {template}"[:120]


async def _fingerprint(request: Request) -> str:
    """The request as it matters: path, query and body (JSON compared by content)."""
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    request_as_text = json.dumps(
        [request.url.path, request.url.query, body], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(request_as_text.encode()).hexdigest()


async def keyed_command(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Any unique string; a retry with the same key gets the first answer.",
        ),
    ] = None,
) -> None:
    """Replay the first answer to this key, or serve the request under it."""
    if idempotency_key is None:
        return
    route, fingerprint = _route(request), await _fingerprint(request)
    scope = {"actor_id": actor.person_id, "route": route, "key": idempotency_key}
    await idempotency.wait_for_turn(session, **scope)
    found = await idempotency.find(session, **scope)
    if found is not None:
        if found.request_hash != fingerprint:
            raise _reused(idempotency_key)
        raise Replay(found)
    target = f"{request.method} {request.url.path}"
    command = KeyedCommand(actor.person_id, route, target, idempotency_key, fingerprint, session)
    _command.set(command)


def _remembering(endpoint: Callable[..., Awaitable[Any]], status: int) -> Callable[..., Any]:
    """The endpoint, keeping its answer in the request's transaction before it commits."""

    @functools.wraps(endpoint)
    async def remembering(*args: Any, **kwargs: Any) -> Any:
        answer = await endpoint(*args, **kwargs)
        command = _command.get()
        if command is not None and not isinstance(answer, Response):
            await command.remember(answer, status)
        return answer

    remembering.__dict__["remembers_answers"] = True
    return remembering


def _with_keyed_command(dependencies: Sequence[DependsParam] | None) -> list[DependsParam]:
    present = any(d.dependency is keyed_command for d in dependencies or ())
    return [*(dependencies or ()), *(() if present else (Depends(keyed_command),))]


class IdempotentRoute(APIRoute):
    """A route whose state-changing methods take an Idempotency-Key (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if CHANGING_METHODS & {m.upper() for m in kwargs.get("methods") or ()}:
            kwargs["dependencies"] = _with_keyed_command(kwargs.get("dependencies"))
            if not getattr(endpoint, "remembers_answers", False):
                endpoint = _remembering(endpoint, kwargs.get("status_code") or 200)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        serve = super().get_route_handler()

        async def serve_once(request: Request) -> Response:
            token = _command.set(None)  # nothing carries over from an earlier request
            try:
                return await serve(request)
            except Replay as replay:
                request.state.idempotent_replay = True  # metrics count no second start
                return replay.response()
            finally:
                _command.reset(token)

        return serve_once
