"""A token stops working within seconds of its session's end: "end every session", a password
reset, closing the account. Closing and downloading everything ask for a recent login. Through
the gateway, with the portal realm's real tokens and identity answering."""
from __future__ import annotations

import os

import pytest

from gateway.app import Gateway, Settings
from servicekit.tokens import TokenVerifier
from services.identity.service import IdentityService
from services.notices.service import NoticesService
from tests.gateway.stack import ServedGateway, free_port, request
from tests.identity.browser import Browser
from tests.identity.conftest import new_email
from tests.identity.test_identity_service import PASSWORD, proven_ticket, register
from tests.support import eventually

API = "/api/v1"


@pytest.fixture
def gateway(start_service, amqp_url, portal_env):
    start_service(NoticesService)
    start_service(IdentityService)
    settings = Settings(amqp_url=amqp_url, issuer=f"{portal_env['PORTAL_KEYCLOAK_URL']}/realms/portal")
    served = ServedGateway(Gateway(settings, TokenVerifier(settings.issuer, settings.audience)), free_port())
    yield served
    served.stop()


@pytest.fixture
def signed_in(gateway, rpc, mailbox):
    """A parent with an account, logged in on the portal's login pages: ``(email, token)``."""
    email = new_email("session")
    register(rpc, mailbox, email)
    token = Browser(os.environ["PORTAL_KEYCLOAK_URL"]).login(email, PASSWORD)["access_token"]
    assert request(gateway.url, "GET", f"{API}/me", token)[0] == 200
    return email, token


def refused_as_ended(gateway, token) -> bool:
    status, _, body = request(gateway.url, "GET", f"{API}/me", token)
    return status == 401 and body["code"] == "session_ended"


def test_ending_every_session_refuses_the_old_token_within_seconds(gateway, signed_in):
    _, token = signed_in
    assert request(gateway.url, "DELETE", f"{API}/me/sessions", token)[0] == 200
    eventually(lambda: refused_as_ended(gateway, token))


def test_a_password_reset_refuses_the_old_token_within_seconds(gateway, signed_in, rpc, mailbox):
    email, token = signed_in
    ticket = proven_ticket(rpc, mailbox, "reset", email)
    rpc.identity.reset_password(ticket, "Harfang-des-neiges-2027", "Harfang-des-neiges-2027")
    eventually(lambda: refused_as_ended(gateway, token))


@pytest.mark.parametrize("method, path, body", [("POST", "/me/closure", "confirmation"), ("GET", "/me/export", None)])
def test_closing_and_downloading_everything_ask_for_a_recent_login(gateway, signed_in, monkeypatch, method, path,
                                                                   body):
    email, token = signed_in
    monkeypatch.setattr("gateway.auth.RECENT_LOGIN", -1)  # this login is now too old
    answers = {lang: request(gateway.url, method, f"{API}{path}?lang={lang}", token,
                             {"confirmation": email} if body else None) for lang in ("fr", "en")}
    assert {lang: (a[0], a[2]["code"]) for lang, a in answers.items()} == {
        "fr": (403, "recent_login_required"), "en": (403, "recent_login_required")}
    assert answers["fr"][2]["message"].startswith("Par sécurité")
    assert answers["en"][2]["message"].startswith("For your security")
    assert request(gateway.url, "GET", f"{API}/me", token)[0] == 200  # nothing was closed


def test_closing_the_account_after_a_recent_login_refuses_its_token_within_seconds(gateway, signed_in):
    email, token = signed_in
    status, _, answer = request(gateway.url, "POST", f"{API}/me/closure", token, {"confirmation": email})
    assert (status, answer) == (200, {"status": "closed"})
    eventually(lambda: refused_as_ended(gateway, token))
