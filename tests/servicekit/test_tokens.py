"""The token verifier against the real Keycloak: tokens of the portal realm are accepted, and
expired, forged, other-audience, other-issuer and other-realm tokens are refused with their code."""
from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from servicekit.tokens import InvalidToken, TokenVerifier

PASSWORD = "Hibou-des-neiges-2026"


@pytest.fixture(scope="module")
def keycloak(portal_env):
    from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

    def admin(realm: str) -> KeycloakAdmin:
        return KeycloakAdmin(connection=KeycloakOpenIDConnection(
            server_url=portal_env["PORTAL_KEYCLOAK_URL"], username=portal_env["PORTAL_KEYCLOAK_ADMIN"],
            password=portal_env["PORTAL_KEYCLOAK_ADMIN_PASSWORD"], realm_name=realm, user_realm_name="master",
            timeout=20))

    return admin


@pytest.fixture(scope="module")
def token_of(portal_env, keycloak):
    """``token_of(realm, audience=True, lifespan=300, host="127.0.0.1")``: a real access token
    of a user of ``realm``, issued to a test-only client (password grant, so no browser), with
    or without the ``portal-api`` audience."""
    made = []

    def client(realm: str, audience: bool, lifespan: int) -> str:
        admin = keycloak(realm)
        client_id = f"test-tokens-{uuid.uuid4().hex[:8]}"
        mappers = [{"name": "audience portal-api", "protocol": "openid-connect",
                    "protocolMapper": "oidc-audience-mapper",
                    "config": {"included.custom.audience": "portal-api", "access.token.claim": "true"}}]
        admin.create_client({
            "clientId": client_id, "publicClient": True, "directAccessGrantsEnabled": True,
            "standardFlowEnabled": False, "attributes": {"access.token.lifespan": str(lifespan)},
            "protocolMappers": mappers if audience else []})
        made.append((admin, admin.get_client_id(client_id)))
        return client_id

    def user(realm: str) -> tuple[str, str]:
        admin = keycloak(realm)
        email = f"tokens.{uuid.uuid4().hex[:10]}@example.org"
        user_id = admin.create_user({"username": email, "email": email, "emailVerified": True, "enabled": True,
                                     "firstName": "Jean", "lastName": "Tremblay",
                                     "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})
        made.append((admin, None, user_id))
        return email, user_id

    def token(realm: str = "portal", audience: bool = True, lifespan: int = 300, host: str = "127.0.0.1") -> dict:
        email, user_id = user(realm)
        url = portal_env["PORTAL_KEYCLOAK_URL"].replace("127.0.0.1", host)
        answer = requests.post(f"{url}/realms/{realm}/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": client(realm, audience, lifespan), "username": email,
            "password": PASSWORD, "scope": "openid"}, timeout=20)
        answer.raise_for_status()
        return {**answer.json(), "user_id": user_id}

    yield token
    for entry in reversed(made):
        admin, client_uuid, *user_id = entry
        if user_id:
            admin.delete_user(user_id[0])
        else:
            admin.delete_client(client_uuid)


@pytest.fixture
def verifier(portal_env):
    return TokenVerifier(f"{portal_env['PORTAL_KEYCLOAK_URL']}/realms/portal", audience="portal-api", leeway=0)


def refused(verifier, token) -> str:
    with pytest.raises(InvalidToken) as error:
        verifier.verify(token)
    return error.value.code


def test_a_portal_token_gives_the_parent_id(verifier, token_of):
    tokens = token_of()
    claims = verifier.verify(tokens["access_token"])
    assert claims["sub"] == tokens["user_id"]
    assert "portal-api" in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])


def test_an_expired_token_is_refused(verifier, token_of):
    tokens = token_of(lifespan=1)
    time.sleep(2.5)
    assert refused(verifier, tokens["access_token"]) == "expired"


def test_a_token_found_good_is_refused_once_it_expires(verifier, token_of, monkeypatch):
    token = token_of(lifespan=2)["access_token"]
    checked, fetched = [], []
    check, fetch = verifier._check, verifier._fetch
    monkeypatch.setattr(verifier, "_check", lambda t: checked.append(t) or check(t))
    monkeypatch.setattr(verifier, "_fetch", lambda: fetched.append(1) or fetch())
    claims = verifier.verify(token)
    for _ in range(5):  # a page of calls: the token from memory, its signature not checked again
        assert verifier.verify(token) == claims
    assert (len(checked), len(fetched)) == (1, 1)
    time.sleep(3.5)  # until Keycloak's expiry of the token (2 s) has passed: no clock to move here
    assert refused(verifier, token) == "expired"
    assert (len(checked), len(fetched)) == (2, 1)  # checked again once its time is up; the keys kept


def test_a_token_for_another_audience_is_refused(verifier, token_of):
    assert refused(verifier, token_of(audience=False)["access_token"]) == "wrong_audience"


def test_an_id_token_is_not_an_access_token(portal_env, token_of):
    tokens = token_of()
    client_id = jwt.decode(tokens["id_token"], options={"verify_signature": False})["aud"]
    as_its_client = TokenVerifier(f"{portal_env['PORTAL_KEYCLOAK_URL']}/realms/portal", audience=client_id)
    assert refused(as_its_client, tokens["id_token"]) == "wrong_audience"


def test_a_token_from_another_issuer_is_refused(verifier, token_of):
    # The same realm and keys, reached under another name: its issuer is not ours.
    assert refused(verifier, token_of(host="localhost")["access_token"]) == "wrong_issuer"


def test_a_token_of_another_realm_is_refused(verifier, token_of):
    assert refused(verifier, token_of(realm="social-standin")["access_token"]) == "bad_signature"


def test_forged_tokens_are_refused(verifier, token_of):
    genuine = token_of()["access_token"]
    header, payload, signature = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(verifier, f"{header}.{changed}.{signature}") == "bad_signature"

    kid = jwt.get_unverified_header(genuine)["kid"]
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused(verifier, jwt.encode(claims, own_key, algorithm="RS256", headers={"kid": kid})) == "bad_signature"
    shared = jwt.encode(claims, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256", headers={"kid": kid})
    assert refused(verifier, shared) == "bad_signature"
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})
    assert refused(verifier, unsigned) == "bad_signature"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", None, 42])
def test_malformed_tokens_are_refused(verifier, token):
    assert refused(verifier, token) == "malformed"


def test_keys_are_cached_and_fetched_again_for_a_new_key_id(portal_env, verifier, token_of, keycloak):
    fetches = []
    fetch = verifier._fetch
    verifier._fetch = lambda: fetches.append(1) or fetch()
    verifier.verify(token_of()["access_token"])
    verifier.verify(token_of()["access_token"])
    assert len(fetches) == 1

    # Keycloak rotates: a new signing key with a higher priority signs the next tokens.
    admin = keycloak("portal")
    realm_id = admin.get_realm("portal")["id"]
    name = f"test-rotation-{uuid.uuid4().hex[:6]}"
    admin.create_component({
        "name": name, "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
        "parentId": realm_id, "config": {"priority": ["1000000"], "keySize": ["2048"], "algorithm": ["RS256"]}})
    try:
        verifier.refetch_interval = 0
        rotated = token_of()["access_token"]
        assert jwt.get_unverified_header(rotated)["kid"] not in verifier._keys
        assert verifier.verify(rotated)["sub"]
        assert len(fetches) == 2
    finally:
        for component in admin.get_components({"parent": realm_id, "type": "org.keycloak.keys.KeyProvider"}):
            if component["name"] == name:
                admin.delete_component(component["id"])


def test_unknown_key_ids_do_not_make_the_verifier_hammer_keycloak(verifier, token_of):
    genuine = token_of()["access_token"]
    verifier.verify(genuine)
    fetches = []
    verifier._fetch = lambda: fetches.append(1) or {}
    claims = jwt.decode(genuine, options={"verify_signature": False})
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for _ in range(20):
        forged = jwt.encode(claims, own_key, algorithm="RS256", headers={"kid": uuid.uuid4().hex})
        assert refused(verifier, forged) == "bad_signature"
    assert len(fetches) <= 1
