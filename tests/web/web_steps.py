"""What the web tests do in a browser: sign in, take screenshots, and run axe-core."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import Page

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


def screenshot_dir() -> Path:
    base = Path(os.environ.get("OVERGANG_TEST_OUTPUT", REPO_ROOT / "test-output"))
    folder = base / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def screenshot(page: Page, name: str) -> Path:
    path = screenshot_dir() / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page: Page, person_id: str, next_path: str = "") -> None:
    query = f"/logg-inn?q={person_id}" + (f"&neste={next_path}" if next_path else "")
    await page.goto(query)
    await page.locator(f'button[name="person_id"][value="{person_id}"]').click()
    await page.wait_for_load_state()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` in the repository"
    # Evaluated through the DevTools protocol, which the pages' CSP (no inline scripts)
    # does not govern, so the scan runs on the page exactly as people get it.
    await page.evaluate(AXE.read_text() + "\n;true")
    result = await page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]  # fmt: skip


async def check_page(page: Page, name: str) -> None:
    """Screenshot the page, then fail on any serious or critical accessibility violation."""
    await screenshot(page, name)
    violations = await axe_violations(page)
    assert violations == [], f"axe on {name} ({page.url}): {violations}"
