"""A parent's whole journey in Chromium on the real stack (the browser side is ``journey.py``)."""
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import REPO, Portal, start_gateway
from tests.gateway.stack import free_port
from tests.support import stop_processes


def _journey(name: str, portal) -> None:
    env = dict(os.environ, PORTAL_E2E_LOGS=str(portal.logs))
    run = subprocess.run([sys.executable, "-m", "tests.e2e.journey", name, portal.url, portal.amqp_url], cwd=REPO,
                         env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-6000:]}\n(logs in {portal.logs})"


@pytest.mark.school_clock
def test_a_parents_journey(portal):
    """Account by emailed code, login, two children of two boards, absence recorded, justified and
    declared (the school system receives AbsenceDeclared), bulletin, statement, message, a new
    absence live, English, download my data, logout."""
    _journey("parent", portal)


@pytest.mark.school_clock
def test_another_parent_cannot_reach_those_children_by_address(portal):
    _journey("other-parent", portal)


def test_logging_in_while_keycloak_is_out_of_reach_says_so(portal, web_client):
    """A gateway of the same portal whose realm address nothing answers, as when Keycloak is down."""
    port, nobody = free_port(), free_port()
    env = dict(os.environ, PORTAL_AMQP_URL=portal.amqp_url, PORTAL_GATEWAY_PORT=str(port),
               PORTAL_WEB_DIST=str(web_client), PORTAL_TOKEN_ISSUER=f"http://127.0.0.1:{nobody}/realms/portal")
    url = f"http://127.0.0.1:{port}"
    gateway = start_gateway("gateway-keycloak-down", env, portal.logs)
    try:
        _journey("sign-in-down", Portal(url, portal.amqp_url, portal.logs))
    finally:
        stop_processes(gateway)
