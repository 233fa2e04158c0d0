"""Signing and verifying webhook deliveries: HMAC-SHA256 over "<timestamp>.<body>".

The header has the shape of Stripe's: ``X-Overgang-Signature: t=<unix seconds>,v1=<hex>``.
The timestamp is signed with the body, so a receiver that rejects old timestamps is safe
against replays of a captured delivery. Pure: the caller passes the clock.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Overgang-Signature"
DELIVERY_HEADER = "X-Overgang-Delivery"
TIMESTAMP_HEADER = "X-Overgang-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """A delivery that must be refused; the message says why."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("signature header needs t=<unix seconds> and v1=<hex>")
    return timestamp, signatures


def verify(
    secret: str,
    header: str,
    body: bytes,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a delivery; return its timestamp or raise InvalidSignature.

    Several v1 values are accepted so a sender can sign with an old and a new secret while
    they are rotated.
    """
    timestamp, signatures = _parse(header)
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(
            f"timestamp {timestamp} is more than {tolerance} s from now: refused as a replay"
        )
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("no v1 signature matches the body and timestamp")
    return timestamp
