"""The page where administrators read what the mail catcher caught (/drift/epost): the newest
e-mail first, in a table, without serious accessibility faults; nobody else gets it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from playwright.async_api import Page, expect
from web_steps import check_page, sign_in

from foundation.settings import Settings
from store.caught_mail import CaughtMailbox

from factories import DirectoryFactory


def catch(settings: Settings, subject: str, to: str) -> None:
    """What the catcher stores for one message (the catcher itself: test_mail_catcher.py)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@overgang>"
    message.set_content("Åpne oppgaven.")
    CaughtMailbox(settings.caught_mail_dir).add(message.as_bytes(), "overgang@localhost", [to])


async def test_administrators_read_caught_mail_and_others_do_not(
    new_context: Callable[[], Any], directory: DirectoryFactory, settings: Settings
) -> None:
    subject = f"Eskalert oppgave: bolig (nivå {uuid.uuid4().hex[:6]})"
    catch(settings, "Ny oppgave: eldre melding", "eldre@example.no")
    catch(settings, subject, "bolig.kontakt@example.no")
    admin = await directory.add_person("driftsansvarlig", ["administrator"], directory.intake)

    page: Page = await (await new_context()).new_page()
    await sign_in(page, admin)
    await page.get_by_role("link", name="Oppfanget e-post").click()
    await expect(page.get_by_role("heading", name="Oppfanget e-post")).to_be_visible()
    first_row = page.locator("table tbody tr").first
    await expect(first_row).to_contain_text(subject)
    await expect(first_row).to_contain_text("bolig.kontakt@example.no")
    await first_row.locator("summary").click()
    await expect(first_row).to_contain_text("Åpne oppgaven.")
    await check_page(page, "drift-oppfanget-epost")

    contact: Page = await (await new_context()).new_page()
    await sign_in(contact, directory.identity.contact)
    await expect(contact.get_by_role("link", name="Oppfanget e-post")).to_have_count(0)
    response = await contact.goto("/drift/epost")
    assert response is not None and response.status == 403
    await expect(contact.get_by_text(subject)).to_have_count(0)
