"""The session cookie's signature and expiry, and how dates typed on the pages are read."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime

from web.formatting import norwegian_datetime, parse_date
from web.sessions import SessionCodec, WebSession


def test_a_signed_session_reads_back_and_a_tampered_one_is_refused() -> None:
    codec = SessionCodec(b"k" * 32)
    cookie = codec.encode(WebSession(person_id="kari"))
    assert codec.decode(cookie) is not None
    assert codec.decode(cookie).person_id == "kari"  # type: ignore[union-attr]

    mac = cookie.rsplit(".", 1)[1]
    forged = codec.encode(WebSession(person_id="admin")).rsplit(".", 1)[0]
    assert codec.decode(f"{forged}.{mac}") is None
    assert SessionCodec(b"x" * 32).decode(cookie) is None
    assert codec.decode("garbage") is None


def test_an_expired_session_is_refused() -> None:
    codec = SessionCodec(b"k" * 32)
    expired = replace(WebSession(person_id="kari"), expires_at=int(time.time()) - 1)
    assert codec.decode(codec.encode(expired)) is None


def test_signing_in_gives_a_new_csrf_token() -> None:
    anonymous = WebSession()
    signed_in = anonymous.signed_in_as("kari")
    assert signed_in.person_id == "kari"
    assert signed_in.csrf_token != anonymous.csrf_token


def test_dates_are_read_as_typed_in_norway_and_shown_in_oslo_time() -> None:
    assert parse_date("24.12.2026") == date(2026, 12, 24)
    assert parse_date("1.2.27") == date(2027, 2, 1)
    assert parse_date("2026-12-24") == date(2026, 12, 24)
    assert parse_date("31.02.2026") is None
    assert parse_date("i morgen") is None
    # 23:30 UTC on midsummer's eve is 01:30 the next day in Oslo (summer time, UTC+2).
    assert norwegian_datetime(datetime(2026, 6, 23, 23, 30, tzinfo=UTC)) == "24.06.2026 kl. 01:30"
