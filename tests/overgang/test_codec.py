from __future__ import annotations

import base64
import os
from collections.abc import Mapping

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from api.codec_server import codec_router
from foundation.codec import (
    ENCODING,
    CodecKeyError,
    EncryptionCodec,
    PayloadDecryptionError,
    build_codec,
    data_converter,
)
from foundation.settings import load_settings

# Looks like health data on purpose: the point is that none of it reaches the history.
SECRET_TEXT = "Kari Nordmann, fødselsnummer 01019012345, innlagt DPS"


class Discharge(BaseModel):
    patient_name: str
    fodselsnummer: str
    note: str


def make_key() -> bytes:
    return os.urandom(32)


def make_codec(keys: Mapping[str, bytes] | None = None, active: str = "a") -> EncryptionCodec:
    return EncryptionCodec(keys or {active: make_key()}, active)


def plain_payload(text: str = SECRET_TEXT) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def as_json(payload: Payload) -> dict[str, object]:
    metadata = {key: b64(value) for key, value in payload.metadata.items()}
    return {"metadata": metadata, "data": b64(payload.data)}


# --- the codec ---


async def test_round_trip() -> None:
    codec = make_codec()
    original = [plain_payload(), plain_payload("second")]
    assert await codec.decode(await codec.encode(original)) == original


async def test_ciphertext_does_not_contain_the_plaintext() -> None:
    (sealed,) = await make_codec().encode([plain_payload()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata["encryption-key-id"] == b"a"
    assert b"01019012345" not in sealed.SerializeToString()
    assert b"Nordmann" not in sealed.SerializeToString()


async def test_same_payload_encrypts_differently_each_time() -> None:
    codec = make_codec()
    first, second = await codec.encode([plain_payload(), plain_payload()])
    assert first.data != second.data


async def test_unencrypted_payloads_pass_through_decode() -> None:
    payload = plain_payload()
    assert await make_codec().decode([payload]) == [payload]


async def test_rotation_keeps_old_payloads_readable() -> None:
    key_a, key_b = make_key(), make_key()
    old = await EncryptionCodec({"a": key_a}, "a").encode([plain_payload("old")])

    rotated = EncryptionCodec({"a": key_a, "b": key_b}, "b")
    new = await rotated.encode([plain_payload("new")])

    assert new[0].metadata["encryption-key-id"] == b"b"
    assert await rotated.decode(old + new) == [plain_payload("old"), plain_payload("new")]


async def test_unknown_key_id_fails_clearly() -> None:
    sealed = await make_codec(active="retired").encode([plain_payload()])
    with pytest.raises(PayloadDecryptionError, match="'retired', which is not in the key ring"):
        await make_codec(active="current").decode(sealed)


async def test_tampered_ciphertext_fails() -> None:
    codec = make_codec()
    (sealed,) = await codec.encode([plain_payload()])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 0x01
    sealed.data = bytes(flipped)
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([sealed])


async def test_truncated_ciphertext_fails() -> None:
    codec = make_codec()
    (sealed,) = await codec.encode([plain_payload()])
    sealed.data = sealed.data[:20]
    with pytest.raises(PayloadDecryptionError, match="truncated"):
        await codec.decode([sealed])


async def test_same_id_with_another_key_fails() -> None:
    sealed = await make_codec().encode([plain_payload()])
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await make_codec().decode(sealed)


def test_key_ring_is_checked() -> None:
    with pytest.raises(CodecKeyError, match="needs 32"):
        EncryptionCodec({"a": b"short"}, "a")
    with pytest.raises(CodecKeyError, match="not in the key ring"):
        EncryptionCodec({"a": make_key()}, "b")


# --- settings ---


async def test_build_codec_from_settings() -> None:
    key_a, key_b = make_key(), make_key()
    settings = load_settings(
        codec_keys={"a": SecretStr(b64(key_a)), "b": SecretStr(b64(key_b) + "\n")},
        codec_active_key="b",
    )
    codec = build_codec(settings)
    assert codec.active_key_id == "b"
    old = await EncryptionCodec({"a": key_a}, "a").encode([plain_payload()])
    assert await codec.decode(old) == [plain_payload()]


def test_development_settings_give_a_working_codec() -> None:
    assert build_codec(load_settings(environment="development")).active_key_id == "dev-1"


@pytest.mark.parametrize(
    ("encoded", "message"),
    [(b64(b"sixteen-byte-key"), "is 16 bytes; AES-256 needs 32"), ("not base64!", "base64")],
)
def test_build_codec_refuses_bad_keys(encoded: str, message: str) -> None:
    settings = load_settings(codec_keys={"k": SecretStr(encoded)}, codec_active_key="k")
    with pytest.raises(CodecKeyError, match=message):
        build_codec(settings)


# --- the data converter ---


async def test_data_converter_round_trips_a_pydantic_model() -> None:
    converter = data_converter(make_codec())
    model = Discharge(patient_name="Kari Nordmann", fodselsnummer="01019012345", note="DPS")
    (sealed,) = await converter.encode([model])
    assert b"Nordmann" not in sealed.SerializeToString()
    assert await converter.decode([sealed], [Discharge]) == [model]


async def test_data_converter_encrypts_failure_messages() -> None:
    converter = data_converter(make_codec())
    failure = Failure()
    await converter.encode_failure(ApplicationError(SECRET_TEXT), failure)
    assert b"Nordmann" not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert str(decoded) == SECRET_TEXT


async def test_data_converter_without_codec_is_plain_pydantic() -> None:
    (payload,) = await data_converter(None).encode(
        [Discharge(patient_name="x", fodselsnummer="y", note="z")]
    )
    assert payload.metadata["encoding"] == b"json/plain"


# --- the codec server ---


def make_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def codec_app(codec: EncryptionCodec, **kwargs: object) -> FastAPI:
    app = FastAPI()
    app.include_router(codec_router(codec, **kwargs))  # type: ignore[arg-type]
    return app


async def test_codec_server_round_trip() -> None:
    codec = make_codec()
    original = {"payloads": [as_json(plain_payload())]}
    async with make_client(codec_app(codec)) as client:
        encoded = await client.post("/codec/encode", json=original)
        assert encoded.status_code == 200
        assert SECRET_TEXT.encode() not in base64.b64decode(encoded.json()["payloads"][0]["data"])
        decoded = await client.post("/codec/decode", json=encoded.json())
    assert decoded.status_code == 200
    assert decoded.json() == original


async def test_codec_server_decodes_what_the_worker_encoded() -> None:
    codec = make_codec()
    (sealed,) = await codec.encode([plain_payload()])
    async with make_client(codec_app(codec)) as client:
        response = await client.post("/codec/decode", json={"payloads": [as_json(sealed)]})
    assert response.json() == {"payloads": [as_json(plain_payload())]}


async def test_codec_server_refuses_undecryptable_payloads() -> None:
    sealed = await make_codec(active="retired").encode([plain_payload()])
    async with make_client(codec_app(make_codec())) as client:
        response = await client.post("/codec/decode", json={"payloads": [as_json(sealed[0])]})
    assert response.status_code == 400
    assert "not in the key ring" in response.json()["detail"]


async def test_codec_server_refuses_malformed_base64() -> None:
    body = {"payloads": [{"metadata": {"encoding": "!!"}, "data": "not base64"}]}
    async with make_client(codec_app(make_codec())) as client:
        response = await client.post("/codec/decode", json=body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("not Temporal payloads")


async def test_codec_server_empty_request() -> None:
    async with make_client(codec_app(make_codec())) as client:
        response = await client.post("/codec/decode", json={"payloads": []})
    assert response.json() == {"payloads": []}


async def test_codec_server_asks_authorize_first() -> None:
    seen: list[str | None] = []

    async def authorize(request: Request) -> None:
        seen.append(request.headers.get("x-namespace"))
        if request.headers.get("authorization") != "Bearer operator":
            raise HTTPException(status_code=403, detail="not an operator")

    app = codec_app(make_codec(), authorize=authorize)
    body = {"payloads": [as_json(plain_payload())]}
    async with make_client(app) as client:
        refused = await client.post("/codec/encode", json=body)
        allowed = await client.post(
            "/codec/encode",
            json=body,
            headers={"authorization": "Bearer operator", "x-namespace": "default"},
        )
    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert seen == [None, "default"]
