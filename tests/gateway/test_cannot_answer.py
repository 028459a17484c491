"""A service that cannot answer, however it fails, is met the same way on every path of the
gateway: a route answers 503 (502 for a service's own bug), a tile shows unavailable, and a
dashboard whose family lookup fails shows every tile instead of failing. No servers: the
services' answers are made up here."""
import pytest
from nameko.exceptions import MethodNotFound, RemoteError
from werkzeug.test import Client

from gateway.app import Gateway, Settings
from gateway.routes import TILES
from gateway.rpc import ServiceUnavailable
from servicekit.errors import Unavailable

STUDENT = "css-x.1234567"
FAILURES = {
    "no answer in time": (ServiceUnavailable("linking", "children"), 503, "service_unavailable"),
    "method not offered yet": (MethodNotFound("children"), 503, "service_unavailable"),
    "a bug in the service": (RemoteError("KeyError", "boom"), 502, "internal_error"),
    "its database out of reach": (Unavailable("service_unavailable"), 503, "service_unavailable"),
}


class Answer:
    def __init__(self, outcome):
        self.outcome = outcome

    def result(self, timeout=None):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class MadeUpServices:
    """The child is the parent's (and linking names no tiles); each method answers, but for
    those in ``failing``."""

    def __init__(self, failing: dict):
        self.failing = failing

    def call(self, service, method, *args, options=None, timeout=None, correlation_id=None):
        return self.call_async(service, method, *args, options=options, correlation_id=correlation_id).result()

    def call_async(self, service, method, *args, options=None, correlation_id=None):
        if (service, method) in self.failing:
            return Answer(self.failing[service, method])
        return Answer({"is_linked": True, "children": []}.get(method, {"answered": method}))


class SessionsLive:
    """Every session still lives (no Keycloak here)."""

    def alive(self, token, claims):
        return True


class Verifier:
    def verify(self, token):
        return {"sub": "parent-1"}


def _get(failing: dict, path: str):
    gateway = Gateway(Settings(amqp_url="amqp://unused", issuer="http://127.0.0.1/realms/portal"), Verifier(),
                      rpc=MadeUpServices(failing), sessions=SessionsLive())
    response = Client(gateway).get(f"/api/v1{path}", headers={"Authorization": "Bearer t"})
    return response.status_code, response.get_json()


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_a_dashboard_whose_family_lookup_cannot_be_answered_shows_every_tile(failure):
    status, body = _get({("linking", "children"): failure[0]}, f"/children/{STUDENT}/dashboard")
    assert status == 200, body
    assert set(body["tiles"]) == set(TILES) and {t["status"] for t in body["tiles"].values()} == {"ok"}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_a_tile_that_cannot_be_answered_is_unavailable(failure):
    status, body = _get({TILES["absences"]: failure[0]}, f"/children/{STUDENT}/dashboard")
    assert status == 200, body
    assert body["tiles"]["absences"] == {"status": "unavailable"} and body["stale"] == ["absences"]


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_a_route_that_cannot_be_answered_says_so(failure):
    exc, expected_status, expected_code = failure
    status, body = _get({("linking", "children"): exc}, "/children")
    assert (status, body["code"]) == (expected_status, expected_code)
