"""Fault 7: Keycloak out of reach. A parent already logged in keeps reading (the gateway checks
tokens against the realm's keys it has cached); what needs Keycloak (a new login, the account's
page) answers a clear 503 in the parent's language; the school's events keep flowing."""
import base64
import json
import os
import urllib.error
import urllib.request
import uuid

import pytest

from gateway.app import Gateway, Settings
from services.attendance.service import AttendanceService
from services.identity.service import IdentityService
from services.linking.service import LinkingService
from servicekit.tokens import TokenVerifier
from tests.conftest import SESSION
from tests.faults.support import CuttableLink, free_port, readyz_status, report
from tests.gateway.stack import KeycloakRealm, ServedGateway, absence, linked_family, publish, request
from tests.support import eventually

API = "/api/v1"
ORG, SCHOOL = "css-kc", "css-kc.ecole-a"


@pytest.fixture
def keycloak(portal_env):
    """The real Keycloak, reached through a link the test cuts; a realm of the test's own."""
    link = CuttableLink(int(os.environ["PORTAL_KEYCLOAK_PORT"]))
    realm = KeycloakRealm(f"{SESSION}-keycloak-down", "http://127.0.0.1:9", url=link.url)
    yield link, realm
    if link.is_cut:
        link.restore()
    realm.delete()
    link.cut()


def unknown_key_token() -> str:
    """Signed, says its header, with a key the gateway has never seen: only Keycloak could tell."""
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'RS256', 'kid': uuid.uuid4().hex})}.{part({'sub': 'x'})}.c2lnbmF0dXJl"


def login_page_answers(realm: KeycloakRealm) -> bool:
    try:
        urllib.request.urlopen(f"{realm.issuer}/.well-known/openid-configuration", timeout=5).close()
        return True
    except OSError:
        return False


def test_keycloak_down_parents_keep_reading_and_logins_say_why(start_service, amqp_url, keycloak):
    link, realm = keycloak
    start_service(LinkingService)
    start_service(AttendanceService)
    start_service(IdentityService, KEYCLOAK_URL=link.url)
    settings = Settings(amqp_url=amqp_url, issuer=realm.issuer)
    # refetch_interval=0: every unknown key id sends the gateway to Keycloak, the case to see.
    gateway = ServedGateway(Gateway(settings, TokenVerifier(settings.issuer, settings.audience, refetch_interval=0)),
                            free_port())
    try:
        token, _, student = linked_family(gateway.url, realm, amqp_url, ORG, SCHOOL, "4455667")
        assert request(gateway.url, "GET", f"{API}/children", token)[0] == 200

        link.cut()
        assert not login_page_answers(realm), "the link to Keycloak is not cut"
        children = request(gateway.url, "GET", f"{API}/children", token)
        recorded = absence(student, SCHOOL)
        publish([recorded], amqp_url)

        def absence_shown():
            status, _, body = request(gateway.url, "GET", f"{API}/children/{student}/absences", token)
            assert status == 200, body
            return any(a["absence_id"] == recorded.data["absence_id"] for a in body["absences"])

        eventually(absence_shown, timeout=20, interval=0.2)
        account_fr = request(gateway.url, "GET", f"{API}/me", token)
        account_en = request(gateway.url, "GET", f"{API}/me", token, headers={"Accept-Language": "en"})
        unknown_key = request(gateway.url, "GET", f"{API}/children", unknown_key_token())
        ready = readyz_status(gateway.ops_url, timeout=5)

        link.restore()
        newcomer = f"n{uuid.uuid4().hex[:10]}@example.org"
        realm.add_parent(newcomer)
        after = request(gateway.url, "GET", f"{API}/children", realm.token(newcomer))
        account_after = request(gateway.url, "GET", f"{API}/me", token)
        report("Keycloak out of reach", children_read=children[0], absence_published_and_shown=True,
               account_page=[account_fr[0], account_fr[2]], unknown_key=[unknown_key[0], unknown_key[2]],
               gateway_ready=ready, after_restore=[after[0], account_after[0]])

        assert children[0] == 200 and [c["student_id"] for c in children[2]] == [student]
        assert account_fr[0] == 503 and account_fr[2] == {
            "code": "sign_in_unavailable", "field": None,
            "message": "La connexion est momentanément indisponible. Réessayez dans quelques minutes."}
        assert account_en[2]["message"] == "Signing in is temporarily unavailable. Please try again in a few minutes."
        assert unknown_key[0] == 503 and unknown_key[2]["code"] == "sign_in_unavailable"
        assert ready == 200
        assert after[0] == 200 and after[2] == []
        assert account_after[0] < 500, account_after
    finally:
        gateway.stop()
