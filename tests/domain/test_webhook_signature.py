"""Webhook signatures: what a receiver accepts and what it refuses."""

from __future__ import annotations

import pytest

from domain.webhook_signature import InvalidSignature, sign, verify

SECRET = "whsec-test"
BODY = b'{"task_id":"t-1","level":1}'
T = 1_800_000_000


def test_a_fresh_correctly_signed_delivery_is_accepted() -> None:
    assert verify(SECRET, sign(SECRET, T, BODY), BODY, now=T + 10) == T


def test_rotation_accepts_any_matching_signature() -> None:
    header = f"{sign('old-secret', T, BODY)},v1={sign(SECRET, T, BODY).split('v1=')[1]}"
    assert verify(SECRET, header, BODY, now=T) == T


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (sign("other-secret", T, BODY), BODY, T, "no v1 signature matches"),
        (sign(SECRET, T, BODY), BODY + b" ", T, "no v1 signature matches"),
        (sign(SECRET, T, BODY), BODY, T + 301, "replay"),
        (sign(SECRET, T, BODY), BODY, T - 301, "replay"),
        (sign(SECRET, T, BODY).replace(f"t={T}", f"t={T + 1}"), BODY, T, "no v1 signature"),
        ("v1=abc", BODY, T, "needs t="),
        (f"t={T}", BODY, T, "needs t="),
    ],
)
def test_refused(header: str, body: bytes, now: int, reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        verify(SECRET, header, body, now=now)
