"""A parent's whole journey in Chromium on the real stack (the browser side is ``journey.py``)."""
import os
import subprocess
import sys

from tests.e2e.conftest import REPO


def _journey(name: str, portal) -> None:
    env = dict(os.environ, PORTAL_E2E_LOGS=str(portal.logs))
    run = subprocess.run([sys.executable, "-m", "tests.e2e.journey", name, portal.url, portal.amqp_url], cwd=REPO,
                         env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-6000:]}\n(logs in {portal.logs})"


def test_a_parents_journey(portal):
    """Account by emailed code, login, two children of two boards, absence recorded, justified and
    declared (the school system receives AbsenceDeclared), bulletin, statement, message, a new
    absence live, English, download my data, logout."""
    _journey("parent", portal)


def test_another_parent_cannot_reach_those_children_by_address(portal):
    _journey("other-parent", portal)
