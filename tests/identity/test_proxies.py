"""Rate limits see the parent's own address behind the ingress: with ``trusted_proxies`` set,
the gateway hands identity the address the outermost trusted proxy saw (the N-th from the right
of X-Forwarded-For), so that parents behind the same proxy are counted apart; without trusted
proxies, whatever a client writes in X-Forwarded-For is ignored. Against identity itself: the
gateway in this process, identity and notices running."""
import random
import uuid

import pytest
from werkzeug.test import Client

from gateway.app import Gateway, Settings
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
