"""Caught mail through the API: administrators read it (it names staff and tasks)."""

from __future__ import annotations

import asyncio

from api.auth import policy
from api.caught_mail.schemas import CaughtMailPublic
from domain.actors import Actor
from foundation.settings import Settings
from store.caught_mail import CaughtMailbox


async def list_caught_mail(settings: Settings, actor: Actor, limit: int) -> list[CaughtMailPublic]:
    """The newest caught e-mails first (none when SMTP is configured: nothing is caught)."""
    policy.may_read_caught_mail(actor)
    mailbox = CaughtMailbox(settings.caught_mail_dir)
    caught = await asyncio.to_thread(mailbox.newest, limit)
    return [CaughtMailPublic.model_validate(mail, from_attributes=True) for mail in caught]
