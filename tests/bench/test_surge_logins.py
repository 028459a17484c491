"""The login surge's clients (bench/surge.py), against the real Keycloak: a parent of the benchmark
signs in with their password and with their passkey through the login page, without a browser,
and a passkey opens no other parent's account. The benchmark only counts logins; this keeps its
passkey ceremony honest."""
import jwt
import pytest

from bench.surge import BenchParents


@pytest.fixture
def parents(portal_env):
    made = BenchParents("test-surge", 2)
    yield made
    made.delete()


def subject(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sub"]


def test_a_parent_signs_in_with_their_passkey_and_their_password(parents):
    first, second = parents.emails
    assert subject(parents.passkey_login(first)) == parents.ids[first]
    assert subject(parents.login(first)) == parents.ids[first]
    # Keycloak checked the passkey it stores for this parent, and says so in the login event.
    event = parents.admin.get_events({"user": parents.ids[first], "type": "LOGIN", "max": 2})[1]
    assert event["details"]["credential_type"] == "webauthn-passwordless"
    assert event["details"]["public_key_credential_id"] == parents.passkeys[first].event_id

    # The second parent's key, presented as the first parent's, is refused.
    parents.passkeys[first], parents.passkeys[second] = parents.passkeys[second], parents.passkeys[first]
    with pytest.raises(RuntimeError, match="login refused"):
        parents.passkey_login(first)
