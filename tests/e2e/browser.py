"""What the browser scenarios share: Debian's Chromium as this machine runs it (no download, no
background traffic), the widths of a phone and a desktop, and one way to run a scenario in a page
that lives on the school clock and leaves a picture behind when it fails."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

from playwright.sync_api import sync_playwright

from tests.e2e.clock import follow_school_clock

REPO = Path(__file__).resolve().parent.parent.parent
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}


def launch(playwright, extra_args=()):
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + list(extra_args))


def failure_picture(page, name: str) -> None:
    page.screenshot(path=str(Path(os.environ.get("PORTAL_E2E_LOGS", "/tmp")) / f"failed-{name}.png"))
    print(f"failed on {page.url}", file=sys.stderr)


def run_page(scenario, name: str, portal_url: str, amqp_url: str) -> None:
    """``scenario(page, portal, amqp_url)`` in a French desktop page of a fresh browser."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(locale="fr-CA", viewport=DESKTOP, accept_downloads=True,
                                      timezone_id="America/Toronto")
        follow_school_clock(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            scenario(page, SimpleNamespace(url=portal_url), amqp_url)
        except Exception:
            failure_picture(page, name)
            raise
        finally:
            browser.close()
