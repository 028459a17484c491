"""Fixtures of identity's integration tests: the real Keycloak (its admin API for checks and
for the stand-in social provider), the real SMTP sink's mails, and identity's events on the bus."""
from __future__ import annotations

import email
import os
import re
import time
import uuid
from email import policy
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from tests.support import eventually

STANDIN = "social-standin"


@pytest.fixture(scope="session")
def keycloak_admin(portal_env):
    """Keycloak's bootstrap administrator, on the portal realm (test set-up and checks only)."""
    from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

    return KeycloakAdmin(connection=KeycloakOpenIDConnection(
        server_url=portal_env["PORTAL_KEYCLOAK_URL"], username=portal_env["PORTAL_KEYCLOAK_ADMIN"],
        password=portal_env["PORTAL_KEYCLOAK_ADMIN_PASSWORD"], realm_name="portal", user_realm_name="master",
        timeout=20))


@pytest.fixture(scope="session")
def standin_admin(portal_env):
    from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

    return KeycloakAdmin(connection=KeycloakOpenIDConnection(
        server_url=portal_env["PORTAL_KEYCLOAK_URL"], username=portal_env["PORTAL_KEYCLOAK_ADMIN"],
        password=portal_env["PORTAL_KEYCLOAK_ADMIN_PASSWORD"], realm_name=STANDIN, user_realm_name="master",
        timeout=20))


@pytest.fixture(scope="session")
def social_provider(portal_env, keycloak_admin, standin_admin):
    """The stand-in realm brokered from ``portal`` over OIDC, as Google or Microsoft would be.
    The broker's client secret is the one Keycloak generated for the stand-in's client; the
    provider lives only in test runs, never in the realm file. Like the realm file's providers,
    it does not vouch for the emails it gives (``trustEmail``): a school email is proven by code."""
    issuer = f"{portal_env['PORTAL_KEYCLOAK_URL']}/realms/{STANDIN}"
    broker = standin_admin.get_client_id("portal-broker")
    secret = standin_admin.get_client_secrets(broker)["value"]
    provider = {
        "alias": STANDIN, "displayName": "Social (substitut)", "providerId": "oidc", "enabled": True,
        "trustEmail": False, "storeToken": False, "firstBrokerLoginFlowAlias": "first broker login",
        "config": {
            "clientId": "portal-broker", "clientSecret": secret, "clientAuthMethod": "client_secret_post",
            "issuer": issuer, "authorizationUrl": f"{issuer}/protocol/openid-connect/auth",
            "tokenUrl": f"{issuer}/protocol/openid-connect/token",
            "userInfoUrl": f"{issuer}/protocol/openid-connect/userinfo",
            "jwksUrl": f"{issuer}/protocol/openid-connect/certs", "useJwksUrl": "true",
            "validateSignature": "true", "pkceEnabled": "true", "pkceMethod": "S256",
            "defaultScope": "openid email profile", "syncMode": "IMPORT",
        },
    }
    # One left by a run that was killed before its teardown is taken over, and removed after.
    if STANDIN in {p["alias"] for p in keycloak_admin.get_idps()}:
        keycloak_admin.update_idp(STANDIN, provider)
    else:
        keycloak_admin.create_idp(provider)
    yield STANDIN
    # The login page shows every provider of the realm: the next tests' pages must not show ours.
    keycloak_admin.delete_idp(STANDIN)


@pytest.fixture
def social_account(standin_admin, social_provider):
    """``social_account(email)``: a user of the stand-in provider; returns its password."""
    made = []

    def make(address: str) -> str:
        password = f"Social-{uuid.uuid4().hex[:10]}"
        made.append(standin_admin.create_user({
            "username": address, "email": address, "emailVerified": True, "enabled": True,
            "firstName": "Julie", "lastName": "Gagnon",
            "credentials": [{"type": "password", "value": password, "temporary": False}]}))
        return password

    yield make
    for user_id in made:
        standin_admin.delete_user(user_id)


def new_email(label: str = "parent") -> str:
    return f"{label}.{uuid.uuid4().hex[:12]}@example.org"


class Mailbox:
    """The SMTP sink's directory: each mail is a .eml file."""

    def __init__(self, directory: str):
        self.directory = Path(directory)

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.directory.glob("*.eml"), key=lambda p: p.stat().st_mtime):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(message["To"]):
                found.append(message)
        return found

    def code_for(self, address: str, after: int = 0, timeout: float = 15) -> str:
        """The code in the mail to ``address`` that arrives after the first ``after`` ones."""
        deadline = time.monotonic() + timeout
        while True:
            mails = self.mails_to(address)
            if len(mails) > after:
                body = mails[-1].get_body(preferencelist=("plain",)).get_content()
                return re.search(r"\b([0-9]{6})\b", body).group(1)
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {address} within {timeout}s")
            time.sleep(0.1)


@pytest.fixture
def mailbox(portal_env):
    return Mailbox(os.environ["PORTAL_MAIL_DIR"])


class Bus:
    """What identity publishes, read from a queue of the test's own on ``identity.events``."""

    def __init__(self, url: str):
        self.connection = Connection(url)
        self.queue = Queue(f"test-identity-{uuid.uuid4().hex[:8]}", Exchange("identity.events", "topic", durable=True),
                           routing_key="#", exclusive=True)
        self.queue(self.connection.default_channel).declare()
        self.seen: list[dict] = []

    def events(self) -> list[dict]:
        """Everything that has reached the queue so far, in the order identity published it."""
        queue = self.queue(self.connection.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            self.seen.append(message.payload)
        return list(self.seen)

    def of(self, event_type: str, parent_id: str) -> list[dict]:
        return [e for e in self.events() if e["type"] == event_type and e["subject"] == parent_id]

    def through(self, event_type: str, parent_id: str) -> list[dict]:
        """Everything published up to the first ``event_type`` about ``parent_id``, once it has
        arrived. Identity's relay publishes its events in the order it stored them: a test that
        must show an event was *not* published does something that publishes a later one (the
        marker) and looks at what came before it, instead of waiting for a while."""
        eventually(lambda: self.of(event_type, parent_id))
        marker = next(n for n, e in enumerate(self.seen) if e["type"] == event_type and e["subject"] == parent_id)
        return self.seen[:marker + 1]


@pytest.fixture
def bus(amqp_url):
    watcher = Bus(amqp_url)
    yield watcher
    watcher.connection.release()
