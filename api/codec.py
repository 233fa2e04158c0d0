"""The codec endpoint the Temporal Web UI calls to show workflow payloads to an operator.

Payloads in Temporal are encrypted (foundation/codec.py) and hold health information, so
decoding them is a read of patient data: administrators only, and every call is audited.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from api.audit import recorder
from api.auth import policy
from api.codec_server import codec_router
from api.deps import ActorDep, SessionDep
from domain.actors import Role
from foundation.codec import build_codec
from foundation.settings import Settings


async def require_operator(request: Request, actor: ActorDep, session: SessionDep) -> None:
    policy.require(
        actor.has_role(Role.ADMINISTRATOR),
        "only administrators may decode workflow payloads (they hold patient data)",
    )
    await recorder.record(
        session, actor, recorder.route_action(request), purpose="operations", resource="codec"
    )


def install(app: FastAPI, settings: Settings) -> None:
    router = codec_router(build_codec(settings))
    app.include_router(router, dependencies=[Depends(require_operator)])
    # The Web UI calls the codec from the browser, on its own origin.
    if settings.temporal_ui_origin:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[settings.temporal_ui_origin],
            allow_methods=["POST"],
            allow_headers=["content-type", "authorization", "x-namespace"],
            allow_credentials=True,
        )
