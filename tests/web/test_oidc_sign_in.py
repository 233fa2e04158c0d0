"""Signing in at a configured OpenID Connect issuer: authorization code flow with PKCE."""

from __future__ import annotations

import re

from oidc_issuer import TestIssuer, issuer_app
from playwright.async_api import Browser, expect
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker

from foundation.settings import Settings
from store.database import Database

from factories import DirectoryFactory
from web_server import serving, web_app


async def test_sign_in_with_the_configured_issuer(
    browser: Browser, settings: Settings, db: Database, temporal: Client, worker: Worker,
    directory: DirectoryFactory,
) -> None:  # fmt: skip
    issuer = TestIssuer(client_id="overgang-web", client_secret="test-secret")
    issuer.subject = directory.identity.contact
    async with serving(issuer_app(issuer)) as issuer_url:
        issuer.url = issuer_url
        configured = settings.model_copy(
            update={
                "oidc_issuer": issuer_url,
                "oidc_client_id": issuer.client_id,
                "oidc_client_secret": SecretStr(issuer.client_secret),
            }
        )
        async with serving(web_app(configured, db, temporal)) as base_url:
            context = await browser.new_context(base_url=base_url, locale="nb-NO")
            page = await context.new_page()
            await page.goto("/innboks")
            await expect(page).to_have_url(re.compile(r"/logg-inn\?neste=/innboks$"))
            assert await page.locator('button[name="person_id"]').count() == 0
            await page.get_by_role("button", name="Logg inn").click()
            await expect(page).to_have_url(re.compile(r"/innboks$"))
            await expect(page.get_by_role("heading", level=1)).to_have_text("Innboks")
            await expect(page.locator("header")).to_contain_text("Kari Kontakt")
            assert len(issuer.redeemed) == 1

            replay = await context.request.get("/logg-inn/callback?code=stale&state=forged")
            assert replay.status == 400
            await context.close()
