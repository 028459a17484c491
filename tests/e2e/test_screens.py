"""Every screen read as a parent reads it, in Chromium on the real stack (the browser side is
``screens.py``): French and English, a 360 px phone and a 1280 px desktop; nothing raw (keys,
snake_case, ISO dates, ids), nothing of the other language outside school data and names,
nothing wider than the window, no serious or critical axe violation. The pictures land in
docs/screenshots/ (listed in README.md)."""
import os
import subprocess
import sys

from tests.e2e.conftest import REPO


def _screens(name: str, portal) -> str:
    env = dict(os.environ, PORTAL_E2E_LOGS=str(portal.logs))
    run = subprocess.run([sys.executable, "-m", "tests.e2e.screens", name, portal.url, portal.amqp_url], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-8000:]}\n(logs in {portal.logs})"
    return run.stdout


def test_every_screen_reads_at_a_glance_in_both_languages_on_a_phone_and_a_desktop(portal):
    """The public pages and the code flows, the family page, linking, messages, the account, and
    every tile of a primary and a secondary child (with last year's results); a refused supporting
    document says why; the PDFs download once the gateway offers them."""
    taken = _screens("walk", portal).split()
    for lang in ("fr", "en"):
        for width in ("phone", "desktop"):
            assert f"resultats-secondaire-{lang}-{width}.png" in taken
            assert f"finances-primaire-{lang}-{width}.png" in taken


def test_a_second_click_before_the_first_screen_loads_ends_on_the_second(portal):
    _screens("quick-navigation", portal)


def test_every_unread_count_agrees_with_the_messages_listed(portal):
    _screens("unread", portal)


def test_a_parent_turned_away_by_a_busy_portal_is_told_and_the_page_asks_again(portal):
    _screens("busy", portal)
