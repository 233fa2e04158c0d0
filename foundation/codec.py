"""Payload encryption for Temporal, so its database holds no readable health data.

Every payload is sealed with AES-256-GCM under the active key of a key ring; the key id
travels in the payload's metadata, so histories written under an older key stay readable
after a new key takes over (rotation). The wire format (metadata ``encoding`` and
``encryption-key-id``, data = 12-byte nonce + ciphertext of the serialized payload) is the
one temporalio/samples-python uses, so other SDKs' codecs can read it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

if TYPE_CHECKING:
    from foundation.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random nonces are safe for ~2**32 payloads per key
TAG_BYTES = 16


class CodecKeyError(ValueError):
    """The key ring is misconfigured: a key of the wrong size, or an unknown active key."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload that cannot be opened: unknown key id, or damaged data."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM payload codec over a key ring: the active key encrypts, every key decrypts."""

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        super().__init__()
        if active_key_id not in keys:
            raise CodecKeyError(f"active codec key {active_key_id!r} is not in the key ring")
        self._ciphers = {key_id: _cipher(key_id, key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self.active_key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        # Payloads written before encryption was switched on pass through unchanged.
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        cipher = self._cipher_for(payload)
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError("encrypted payload is truncated")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, None))
        except InvalidTag:
            raise PayloadDecryptionError(
                "encrypted payload failed authentication: it was altered, or sealed with "
                "another key under the same id"
            ) from None

    def _cipher_for(self, payload: Payload) -> AESGCM:
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise PayloadDecryptionError(
                f"payload was encrypted with codec key {key_id!r}, which is not in the key "
                f"ring ({', '.join(sorted(self._ciphers))}); add it to OVERGANG_CODEC_KEYS"
            ) from None


def _cipher(key_id: str, key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise CodecKeyError(
            f"codec key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES} "
            f"(make one with: openssl rand -base64 {KEY_BYTES})"
        )
    return AESGCM(key)


def build_codec(settings: Settings) -> EncryptionCodec:
    """The codec for the configured key ring (``codec_keys``: id -> base64 key)."""
    keys = {
        key_id: _decode_key(key_id, secret.get_secret_value())
        for key_id, secret in settings.codec_keys.items()
    }
    return EncryptionCodec(keys, settings.codec_active_key)


def _decode_key(key_id: str, encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise CodecKeyError(f"codec key {key_id!r} is not valid base64") from None


def data_converter(codec: EncryptionCodec | None) -> DataConverter:
    """Pydantic payloads, encrypted when a codec is given (client, worker and replayer)."""
    if codec is None:
        return pydantic_data_converter
    # Failure messages and stack traces are plain text in the history unless moved into the
    # encoded attributes, and an error message can name a patient.
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
