"""A real HTTP server (uvicorn on a free port, in the test session's event loop) serving the
app with the session's PostgreSQL, Temporal and worker, and Debian's headless Chromium
driven by Playwright. No browser is downloaded: Playwright is pointed at OVERGANG_CHROMIUM,
else the `chromium` on PATH (Debian's /usr/bin/chromium)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright
from temporalio.client import Client
from temporalio.worker import Worker

from domain.calendar import OSLO
from foundation.settings import Settings
from store.database import Database

from web_server import serving, web_app

CHROMIUM = Path(os.environ.get("OVERGANG_CHROMIUM") or shutil.which("chromium") or "chromium")
CHROMIUM_PRESENT = CHROMIUM.is_file()
CHROMIUM_LOOKED_AT = (
    f"OVERGANG_CHROMIUM={CHROMIUM}" if "OVERGANG_CHROMIUM" in os.environ else "ingen på PATH"
)
# The skip reason, and what the run's summary counts so a newcomer sees the tests did not run.
CHROMIUM_MISSING = "fant ingen Chromium"
HOW_TO_GET_CHROMIUM = (
    "installer den med `apt-get install chromium` (Debian) "
    "eller sett OVERGANG_CHROMIUM til en Chromium-binær"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=nb-NO",  # Norwegian date fields (dd.mm.åååå), as our users have them
]


@pytest.fixture(scope="session")
async def web_base_url(
    settings: Settings, db: Database, temporal: Client, worker: Worker
) -> AsyncIterator[str]:
    async with serving(web_app(settings, db, temporal)) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_PRESENT:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install Debian's chromium: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM_MISSING} ({CHROMIUM_LOOKED_AT}): {HOW_TO_GET_CHROMIUM}")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def new_context(browser: Browser, web_base_url: str) -> AsyncIterator[object]:
    """Opens browser sessions (one per person) that are closed after the test."""
    opened: list[BrowserContext] = []

    async def open_context() -> BrowserContext:
        context = await browser.new_context(
            base_url=web_base_url,
            locale="nb-NO",
            timezone_id=OSLO.key,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        await context.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say it out loud when the browser tests were skipped for want of Chromium: a green run
    without them has not tested the pages."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and CHROMIUM_MISSING in report.longrepr[2]
    ]
    if skipped:
        why = f"{CHROMIUM_MISSING} ({CHROMIUM_LOOKED_AT}); {HOW_TO_GET_CHROMIUM}"
        message = f"{len(skipped)} nettlesertester hoppet over: {why}"
        terminalreporter.write_sep("!", message, yellow=True, bold=True)
