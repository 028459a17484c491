"""What the gateway's tests, the end-to-end tests and the benchmark share: a Keycloak realm of
their own (same client settings as the portal's realm, plus password grants for tests), the
gateway served in-process on its own port, and a family seeded through the school system's
events and the real linking flow."""
from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import date

import eventlet
import eventlet.wsgi
from keycloak import KeycloakAdmin, KeycloakOpenID

import contracts
from tests.support import publish
from scripts.school_calendar import around, last_school_day

PASSWORD = "Portail-Test-2026!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KeycloakRealm:
    """A throw-away Keycloak realm: the SPA client (code + PKCE) for ``web_origin`` and a test
    client with password grants, both putting ``portal-api`` in the token's audience."""

    def __init__(self, name: str, web_origin: str, url: str | None = None):
        self.name = name
        self.url = url or os.environ["PORTAL_KEYCLOAK_URL"]
        self.issuer = f"{self.url}/realms/{name}"
        self.admin = KeycloakAdmin(server_url=self.url, username=os.environ["PORTAL_KEYCLOAK_ADMIN"],
                                   password=os.environ["PORTAL_KEYCLOAK_ADMIN_PASSWORD"], realm_name="master")
        audience = [{"name": "audience portal-api", "protocol": "openid-connect",
                     "protocolMapper": "oidc-audience-mapper",
                     "config": {"included.custom.audience": "portal-api", "access.token.claim": "true"}}]
        self.admin.create_realm({
            "realm": name, "enabled": True, "internationalizationEnabled": True,
            "supportedLocales": ["fr", "en"], "defaultLocale": "fr", "accessTokenLifespan": 300,
            "clients": [
                {"clientId": "portal-web", "publicClient": True, "standardFlowEnabled": True,
                 "directAccessGrantsEnabled": False, "redirectUris": [f"{web_origin}/*"],
                 "webOrigins": [web_origin], "attributes": {"pkce.code.challenge.method": "S256",
                                                            "post.logout.redirect.uris": f"{web_origin}/*"},
                 "protocolMappers": audience},
                {"clientId": "portal-tests", "publicClient": True, "standardFlowEnabled": False,
                 "directAccessGrantsEnabled": True, "protocolMappers": audience},
            ],
        })
        self.admin.change_current_realm(name)
        self.oidc = KeycloakOpenID(server_url=self.url, realm_name=name, client_id="portal-tests")

    def add_parent(self, email: str) -> str:
        """A parent account; returns its id (the tokens' ``sub``)."""
        return self.admin.create_user({"username": email, "email": email, "emailVerified": True, "enabled": True,
                                       "firstName": "Parent", "lastName": "Test",
                                       "credentials": [{"type": "password", "value": PASSWORD,
                                                        "temporary": False}]})

    def token(self, email: str) -> str:
        return self.oidc.token(email, PASSWORD)["access_token"]

    def delete(self) -> None:
        self.admin.change_current_realm("master")
        self.admin.delete_realm(self.name)


class ServedGateway:
    """The gateway app served by eventlet's WSGI server in this process, its ops endpoints on a
    port of their own (``ops_url``) as ``python -m gateway`` serves them."""

    def __init__(self, gateway, port: int):
        self.gateway = gateway
        gateway.start()
        self.socket = eventlet.listen(("127.0.0.1", port), backlog=1024)
        self.ops_socket = eventlet.listen(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{port}"
        self.ops_url = f"http://127.0.0.1:{self.ops_socket.getsockname()[1]}"
        self.thread = eventlet.spawn(eventlet.wsgi.server, self.socket, gateway, max_size=5000, log_output=False)
        self.ops_thread = eventlet.spawn(eventlet.wsgi.server, self.ops_socket, gateway.ops, log_output=False)
        deadline = time.monotonic() + 15
        while request(self.ops_url, "GET", "/readyz")[0] != 200:
            assert time.monotonic() < deadline, "gateway not ready"
            time.sleep(0.05)

    def stop(self) -> None:
        self.ops_thread.kill()
        self.ops_socket.close()
        self.thread.kill()
        self.socket.close()
        self.gateway.stop()


def request(base: str, method: str, path: str, token: str | None = None, body=None, headers: dict | None = None):
    """(status, headers, decoded JSON or raw bytes)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, method=method, data=data)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=20) as response:
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, error.headers, error.read()
    try:
        return status, answer_headers, json.loads(raw)
    except ValueError:
        return status, answer_headers, raw


def sis(type: str, data: dict) -> contracts.Envelope:
    spec = contracts.EVENTS[type]
    subject = data
    for part in spec.subject_field.split("."):
        subject = subject[part]
    return contracts.Envelope.new(type, spec.source, subject, data, "tests-gateway")


def school_events(org_id: str, school_id: str, tiles=("messages", "absences", "results", "finances", "record",
                                                        "contact", "agenda", "homework")) -> list:
    with open(os.path.join(os.path.dirname(contracts.__file__), "examples", "SchoolRegistered.json")) as f:
        school = json.load(f)["data"]
    school["org"] = dict(school["org"], id=org_id, name=f"Centre de services scolaire {org_id}")
    school["school"] = dict(school["school"], id=school_id, name=f"École {school_id.split('.')[-1]}",
                            tiles=list(tiles))
    with open(os.path.join(os.path.dirname(contracts.__file__), "examples", "SchoolCalendarPublished.json")) as f:
        reasons = json.load(f)["data"]["absence_reasons"]
    return [sis("SchoolRegistered", school)] + [sis("SchoolCalendarPublished", year.calendar(school_id, reasons))
                                                for year in around()]


def child_events(org_id: str, school_id: str, number: str, first_name: str, guardian_email: str) -> list:
    student_id = f"{org_id}.{number}"
    return [
        sis("StudentEnrolled", {"student_id": student_id, "org_id": org_id, "school_id": school_id,
                                "student_number": number, "permanent_code": "GAGL05581812", "last_name": "Gagnon",
                                "first_name": first_name, "birth_date": "2018-08-05", "grade": "P3",
                                "group": "301"}),
        sis("GuardianAssigned", {"student_id": student_id, "guardian_id": f"{org_id}.g-{uuid.uuid4().hex[:8]}",
                                 "name": "Julie Gagnon", "email": guardian_email, "principal": True,
                                 "access": True}),
    ]


def parent_verified(parent_id: str, email: str) -> contracts.Envelope:
    return contracts.Envelope.new("ParentVerified", "identity", parent_id,
                                  {"parent_id": parent_id, "email": email, "locale": "fr"}, "tests-gateway")


def absence(student_id: str, school_id: str, day: date | None = None) -> contracts.Envelope:
    """An absence the school recorded, by default on the last school day."""
    return sis("AbsenceRecorded", {
        "absence_id": f"abs-{uuid.uuid4().hex[:10]}", "student_id": student_id, "school_id": school_id,
        "date": day or last_school_day(), "kind": "absence", "period": "full_day", "period_number": None, "start_time": None,
        "end_time": None, "minutes_late": None, "reason_code": None, "requires_justification": True})


def linked_family(gateway_url: str, realm: KeycloakRealm, amqp_url: str, org_id: str, school_id: str,
                  number: str) -> tuple[str, str, str]:
    """Parent A linked to one child (Léa Gagnon) through the real linking flow, and attendance
    told of it; parent B with no child. Needs linking and attendance running:
    (token of A, token of B, the child's id)."""
    from tests.support import eventually

    suffix = str(time.monotonic_ns())
    email_a, email_b = f"a{suffix}@example.org", f"b{suffix}@example.org"
    parent_a, parent_b = realm.add_parent(email_a), realm.add_parent(email_b)
    publish(school_events(org_id, school_id) + child_events(org_id, school_id, number, "Léa", email_a)
            + [parent_verified(parent_a, email_a), parent_verified(parent_b, email_b)], amqp_url)
    token_a, token_b = realm.token(email_a), realm.token(email_b)
    student_id = f"{org_id}.{number}"

    def linked():
        status, _, body = request(gateway_url, "POST", "/api/v1/children", token_a, {
            "org_id": org_id, "last_name": "Gagnon", "first_name": "Léa", "birth_date": "2018-08-05",
            "student_number": number})
        return status == 201 and body

    eventually(linked, timeout=20, interval=0.3)
    # attendance hears of the link through linking's relay
    eventually(lambda: request(gateway_url, "GET", f"/api/v1/children/{student_id}/absences", token_a)[0] == 200,
               timeout=20, interval=0.2)
    return token_a, token_b, student_id


__all__ = ["KeycloakRealm", "ServedGateway", "request", "publish", "free_port", "school_events", "child_events",
           "parent_verified", "absence", "linked_family"]
