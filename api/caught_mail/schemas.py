from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CaughtMailPublic(BaseModel):
    """An e-mail the mail catcher received instead of sending it on."""

    id: str
    received_at: datetime
    sender: str
    recipients: list[str]
    subject: str
    message_id: str
    body: str
