"""Opaque cursors: the sort key of the last row shown, so the next page starts after it."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from api.errors import Problem


def encode_cursor(*key: Any) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple[Any, ...]:
    """The key back, typed; a cursor we did not hand out is a 422 naming the field."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(types):
            raise ValueError("wrong shape")
        key = tuple(
            datetime.fromisoformat(v) if t is datetime else t(v)
            for v, t in zip(raw, types, strict=True)
        )
        if any(isinstance(v, datetime) and v.tzinfo is None for v in key):
            raise ValueError("naive time")
        return key
    except (ValueError, TypeError) as error:
        message = "not a cursor from a previous page"
        raise Problem(
            422,
            "Invalid request",
            f"cursor: {message}",
            errors=[{"field": "cursor", "message": message}],
        ) from error
