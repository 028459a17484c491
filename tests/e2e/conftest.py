"""The whole portal for browser tests: every service that exists and the gateway, each as its own
process (``python -m servicekit run`` / ``python -m gateway``) on the session's vhost and
databases, and the portal's Keycloak realm (the web client may also come back to this gateway's
port). The browser runs in a process of its own (``journey.py``)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from keycloak import KeycloakAdmin

from servicekit.cli import SERVICES
from tests.gateway.stack import free_port
from tests.support import SESSION, create_vhost, delete_vhost, stop_processes

REPO = Path(__file__).resolve().parent.parent.parent
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"


class Portal:
    def __init__(self, url: str, amqp_url: str, logs: Path):
        self.url, self.amqp_url, self.logs = url, amqp_url, logs


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_process(name: str, args: list[str], env: dict, ready_url: str, logs: Path) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, env=env, stdout=log, stderr=log,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while not answers(ready_url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not become ready; see {logs / f'{name}.log'}:\n"
                               + (logs / f"{name}.log").read_text()[-3000:])
        time.sleep(0.2)
    return process


def start_gateway(name: str, env: dict, logs: Path) -> subprocess.Popen:
    """``python -m gateway`` with ``env`` (its public port in PORTAL_GATEWAY_PORT) and an ops port
    of its own, ready when returned."""
    ops = free_port()
    return start_process(name, ["gateway"], dict(env, PORTAL_OPS_PORT=str(ops)), f"http://127.0.0.1:{ops}/readyz",
                         logs)


@pytest.fixture(scope="session")
def web_client():
    if not (REPO / "web" / "dist" / "index.html").is_file() or not AXE.is_file():
        raise RuntimeError("the web client is not built: run scripts/setup.sh (npm ci && npm run build in web/)")
    return REPO / "web" / "dist"


@pytest.fixture(scope="session")
def realm_allows(portal_env):
    """``realm_allows(origin)``: the portal realm's web client may come back to ``origin`` until the
    end of the session (the realm file names only the default gateway port)."""
    admin = KeycloakAdmin(server_url=portal_env["PORTAL_KEYCLOAK_URL"], username=portal_env["PORTAL_KEYCLOAK_ADMIN"],
                          password=portal_env["PORTAL_KEYCLOAK_ADMIN_PASSWORD"], realm_name="portal",
                          user_realm_name="master")
    client_id = admin.get_client_id("portal-web")
    added = []

    def allow(origin: str) -> None:
        client = admin.get_client(client_id)
        client["redirectUris"] = client["redirectUris"] + [f"{origin}/*"]
        client["webOrigins"] = client["webOrigins"] + [origin]
        attributes = client.setdefault("attributes", {})
        attributes["post.logout.redirect.uris"] = attributes.get("post.logout.redirect.uris", "") + f"##{origin}/*"
        admin.update_client(client_id, client)
        added.append(origin)

    yield allow
    client = admin.get_client(client_id)
    client["redirectUris"] = [u for u in client["redirectUris"] if not any(u.startswith(o) for o in added)]
    client["webOrigins"] = [o for o in client["webOrigins"] if o not in added]
    attributes = client.get("attributes", {})
    attributes["post.logout.redirect.uris"] = "##".join(
        u for u in attributes.get("post.logout.redirect.uris", "").split("##") if not any(u.startswith(o) for o in added))
    admin.update_client(client_id, client)


@pytest.fixture(scope="session")
def portal(portal_env, database_url, web_client, realm_allows):
    """Every service whose code exists, and the gateway, running as processes, on a vhost and
    databases of their own: they live for the whole session and must not take the events that
    other tests publish to their own services."""
    logs = Path(tempfile.mkdtemp(prefix="portal-e2e-"))
    running = []
    vhost = f"{SESSION}_portal"
    amqp_url = create_vhost(vhost)
    try:
        for service in SERVICES:
            if not (REPO / "services" / service / "service.py").is_file():
                continue
            ops = free_port()
            env = dict(os.environ, PORTAL_AMQP_URL=amqp_url, PORTAL_DATABASE_URL=database_url(service, "portal"),
                       PORTAL_OPS_PORT=str(ops), PORTAL_RETRY_DELAYS="0.2,0.5")
            running.append(start_process(service, ["servicekit", "run", service], env, f"http://127.0.0.1:{ops}/readyz", logs))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        realm_allows(url)
        env = dict(os.environ, PORTAL_AMQP_URL=amqp_url, PORTAL_GATEWAY_PORT=str(port), PORTAL_WEB_DIST=str(web_client))
        running.append(start_gateway("gateway", env, logs))
        yield Portal(url, amqp_url, logs)
    finally:
        stop_processes(*running)
        delete_vhost(vhost)
