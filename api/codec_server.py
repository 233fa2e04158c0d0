"""Temporal's codec-server protocol, so the Web UI can show decrypted payloads to an operator.

The UI (and ``temporal --codec-endpoint``) posts ``{"payloads": [...]}`` in protobuf JSON
(metadata values and data base64) to ``<endpoint>/encode`` and ``<endpoint>/decode`` and
expects the same shape back; mount this router and point the codec endpoint at ``.../codec``.
The browser calls it directly, so the app must allow the UI's origin (CORS) with the
``content-type``, ``x-namespace`` and ``authorization`` headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

Authorize = Callable[[Request], Awaitable[None]]
_Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


class CodecPayload(BaseModel):
    """One Temporal payload in protobuf JSON."""

    # Fields this model does not name (newer protocol additions) pass through to protobuf.
    model_config = ConfigDict(extra="allow")

    metadata: dict[str, str] = Field(default_factory=dict, description="key -> base64 value")
    data: str = Field(default="", description="base64")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = Field(default_factory=list)


_ERRORS: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: {"description": "Not valid payloads, or not decryptable"}
}


def codec_router(codec: PayloadCodec, authorize: Authorize | None = None) -> APIRouter:
    """Routes ``POST /codec/encode`` and ``POST /codec/decode``, guarded by ``authorize``.

    ``authorize`` refuses a request by raising ``HTTPException``; without it anyone who can
    reach the API can read every payload, so only development should leave it out.
    """
    guards = [Depends(_as_dependency(authorize))] if authorize else []
    router = APIRouter(prefix="/codec", tags=["codec"], dependencies=guards)

    @router.post("/encode", response_model=CodecPayloads, responses=_ERRORS)
    async def encode(body: CodecPayloads) -> CodecPayloads:
        return await _apply(codec.encode, body)

    @router.post("/decode", response_model=CodecPayloads, responses=_ERRORS)
    async def decode(body: CodecPayloads) -> CodecPayloads:
        return await _apply(codec.decode, body)

    return router


def _as_dependency(authorize: Authorize) -> Callable[[Request], Awaitable[None]]:
    # FastAPI reads a dependency's signature; wrapping gives any callable the one it needs.
    async def check(request: Request) -> None:
        await authorize(request)

    return check


async def _apply(transform: _Transform, body: CodecPayloads) -> CodecPayloads:
    try:
        payloads = json_format.ParseDict(body.model_dump(), Payloads())
    except json_format.ParseError as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"not Temporal payloads: {error}"
        ) from None
    try:
        result = await transform(payloads.payloads)
    except ValueError as error:  # e.g. an unknown key id or a damaged payload
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    return CodecPayloads.model_validate(json_format.MessageToDict(Payloads(payloads=result)))
