"""Rate limits see the parent's own address behind the ingress: with ``trusted_proxies`` set,
the gateway hands identity the address the outermost trusted proxy saw (the N-th from the right
of X-Forwarded-For), so that parents behind the same proxy are counted apart; without trusted
proxies, whatever a client writes in X-Forwarded-For is ignored. The counting against identity
itself (the gateway in this process, identity and notices running); the reading of the header
and the cluster's setting without servers."""
import random
import uuid
from pathlib import Path

import pytest
import yaml
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from gateway.app import Gateway, Settings
from gateway.http import client_address
from services.identity import domain
from services.identity.service import IdentityService
from services.notices.service import NoticesService

PROXY = "10.0.0.5"  # the ingress controller, as the gateway's connection sees it


@pytest.fixture
def gateway(start_service, amqp_url):
    """``gateway(trusted_proxies)``: a started gateway app, identity and notices running."""
    start_service(NoticesService)
    start_service(IdentityService)
    started = []

    def make(trusted_proxies: int) -> Client:
        app = Gateway(Settings(amqp_url=amqp_url, issuer="http://127.0.0.1/realms/unused",
                               trusted_proxies=trusted_proxies), verifier=None)
        app.start()
        started.append(app)
        return Client(app)

    yield make
    for app in started:
        app.stop()


def parents_address() -> str:
    """An address of the test's own, so that the per-address limit is the test's."""
    return f"2001:db8:{random.randrange(1 << 16):x}::{random.randrange(1 << 16):x}"


def ask_code(client: Client, forwarded: str, connected_from: str = PROXY) -> int:
    response = client.post("/api/v1/passwords/codes", json={"email": f"p.{uuid.uuid4().hex[:12]}@example.org"},
                           headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": connected_from})
    return response.status_code


def test_parents_behind_the_same_proxy_are_counted_apart(gateway):
    client = gateway(trusted_proxies=1)
    first, second = parents_address(), parents_address()
    for _ in range(domain.REQUESTS_PER_ADDRESS):
        # What the parent's own browser or extension wrote comes first; the ingress appends.
        assert ask_code(client, f"{parents_address()}, {first}") == 202
    assert ask_code(client, first) == 429
    assert ask_code(client, second) == 202  # another parent, through the same ingress


def test_a_forged_forwarded_address_is_ignored_without_trusted_proxies(gateway):
    client = gateway(trusted_proxies=0)
    connected_from = parents_address()  # no proxy: the connection's own address counts
    for _ in range(domain.REQUESTS_PER_ADDRESS):
        assert ask_code(client, parents_address(), connected_from) == 202
    assert ask_code(client, parents_address(), connected_from) == 429


def test_a_short_or_garbled_forwarded_header_falls_back_to_the_connection():
    def seen(trusted: int, *forwarded: str) -> str:
        headers = [("X-Forwarded-For", value) for value in forwarded]
        return client_address(Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": PROXY})
                                      .get_environ()), trusted)

    assert seen(1, "198.51.100.1, 203.0.113.9") == "203.0.113.9"
    assert seen(2, "198.51.100.1, 203.0.113.9, 10.0.0.9") == "203.0.113.9"
    assert seen(1, "198.51.100.1", "203.0.113.9") == "203.0.113.9"  # one header per proxy
    assert seen(2, "203.0.113.9") == PROXY  # fewer proxies than said: the connection
    assert seen(1, "not-an-address") == PROXY
    assert seen(1) == PROXY
    assert seen(0, "203.0.113.9") == PROXY


def test_the_cluster_trusts_the_ingress_controller_alone():
    deployment = yaml.safe_load((Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "gateway"
                                 / "deployment.yaml").read_text(encoding="utf-8"))
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PORTAL_TRUSTED_PROXIES"] == "1"
