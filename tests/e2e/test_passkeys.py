"""Passkeys in Chromium with its virtual authenticator, on the real portal and Keycloak (the
browser side is ``passkeys.py``): registered after a fresh login, signing in without a password,
another parent's key refused, a removed key refused, "end all sessions" removing them, in French
and in English."""
import os
import subprocess
import sys

from tests.e2e.conftest import REPO, start_gateway
from tests.gateway.stack import free_port
from tests.support import stop_processes


def test_a_parent_signs_in_with_a_passkey(portal, portal_env, web_client, realm_allows):
    # WebAuthn refuses an IP address as relying party: browsers reach the portal and Keycloak as
    # localhost, so this gateway reaches Keycloak under that name too: it takes the tokens Keycloak
    # issues under it, and Keycloak's userinfo (the gateway's session check) answers for them.
    keycloak = portal_env["PORTAL_KEYCLOAK_URL"].replace("127.0.0.1", "localhost")
    port = free_port()
    url = f"http://localhost:{port}"
    realm_allows(url)
    env = dict(os.environ, PORTAL_AMQP_URL=portal.amqp_url, PORTAL_GATEWAY_PORT=str(port),
               PORTAL_WEB_DIST=str(web_client), PORTAL_KEYCLOAK_URL=keycloak)
    gateway = start_gateway("gateway-passkeys", env, portal.logs)
    try:
        run = subprocess.run([sys.executable, "-m", "tests.e2e.passkeys", url], cwd=REPO,
                             env=dict(os.environ, PORTAL_E2E_LOGS=str(portal.logs)),
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-6000:]}\n(logs in {portal.logs})"
    finally:
        stop_processes(gateway)
