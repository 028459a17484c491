"""A parent's passkeys in the identity service, against the real Keycloak: listed (label and
dates, never key material), removed one by one, all removed when every session ends, gone with
the account, and in the export; the last use of each read from Keycloak's login events; no second
factor after a passkey. Registering one is the browser's part (tests/e2e/test_passkeys.py); here
Keycloak's admin API puts a credential on the user as an import would, and the login page is
answered by a software authenticator (bench/webauthn.py)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from bench.webauthn import Passkey
from servicekit.errors import NotFound
from tests.identity.browser import Browser, LoginFailed
from tests.identity.conftest import new_email
from tests.identity.test_identity_service import PASSWORD, identity, register  # noqa: F401 (fixture)


def add_passkey(keycloak_admin, parent_id: str, label: str, passkey: Passkey | None = None) -> str:
    """A WebAuthn Passwordless credential on the user, as Keycloak stores a registered one."""
    user = keycloak_admin.get_user(parent_id)
    before = {c["id"] for c in keycloak_admin.get_credentials(parent_id)}
    keycloak_admin.update_user(parent_id, dict(user, credentials=[(passkey or Passkey()).credential(label)]))
    added, = {c["id"] for c in keycloak_admin.get_credentials(parent_id)} - before
    return added


def browser(portal_env) -> Browser:
    """A browser that reaches Keycloak at a host name, where passkeys work."""
    return Browser(portal_env["PORTAL_KEYCLOAK_URL"].replace("127.0.0.1", "localhost"))


def test_a_parent_lists_and_removes_their_passkeys(identity, rpc, mailbox, keycloak_admin):
    parent_id = register(rpc, mailbox, new_email())
    assert rpc.identity.passkeys(parent_id) == []
    phone = add_passkey(keycloak_admin, parent_id, "Téléphone de Julie")
    laptop = add_passkey(keycloak_admin, parent_id, "Portable")

    listed = rpc.identity.passkeys(parent_id)
    assert {p["passkey_id"]: p["label"] for p in listed} == {phone: "Téléphone de Julie", laptop: "Portable"}
    assert all(set(p) == {"passkey_id", "label", "created_at", "last_used_at"} and p["created_at"] for p in listed)
    # The password is a credential too, but not a passkey; two-factor is unchanged.
    assert rpc.identity.me(parent_id)["totp_enabled"] is False

    exported = rpc.identity.export(parent_id)
    assert exported["parent_id"] == parent_id and len(exported["passkeys"]) == 2
    assert "credentialPublicKey" not in json.dumps(exported) and "credentialData" not in json.dumps(exported)

    assert rpc.identity.remove_passkey(parent_id, phone) == {"removed": phone}
    assert [p["passkey_id"] for p in rpc.identity.passkeys(parent_id)] == [laptop]
    with pytest.raises(NotFound) as gone:
        rpc.identity.remove_passkey(parent_id, phone)
    assert gone.value.code == "passkey_not_found"

    # Another parent's passkey is not theirs to remove: the same answer as a removed one.
    other_id = register(rpc, mailbox, new_email())
    with pytest.raises(NotFound) as foreign:
        rpc.identity.remove_passkey(other_id, laptop)
    assert foreign.value.code == "passkey_not_found"
    assert [p["passkey_id"] for p in rpc.identity.passkeys(parent_id)] == [laptop]
    # A password is not a passkey either.
    password_id, = [c["id"] for c in keycloak_admin.get_credentials(parent_id) if c["type"] == "password"]
    with pytest.raises(NotFound):
        rpc.identity.remove_passkey(parent_id, password_id)


def test_ending_every_session_removes_the_passkeys_and_keeps_the_password(
        identity, rpc, mailbox, keycloak_admin, portal_env):
    email = new_email()
    parent_id = register(rpc, mailbox, email)
    add_passkey(keycloak_admin, parent_id, "Téléphone")
    add_passkey(keycloak_admin, parent_id, "Tablette")
    browser = Browser(portal_env["PORTAL_KEYCLOAK_URL"])
    tokens = browser.login(email, PASSWORD)
    assert len(rpc.identity.sessions(parent_id)) == 1

    assert rpc.identity.end_all_sessions(parent_id) == {"status": "ended", "passkeys_removed": 2}
    assert rpc.identity.sessions(parent_id) == []
    assert browser.refresh(tokens["refresh_token"]).status_code == 400
    assert rpc.identity.passkeys(parent_id) == []
    assert [c["type"] for c in keycloak_admin.get_credentials(parent_id)] == ["password"]
    Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, PASSWORD)


def test_a_passkey_s_last_use_is_when_it_last_signed_the_parent_in(identity, rpc, mailbox, keycloak_admin, portal_env):
    email = new_email()
    parent_id = register(rpc, mailbox, email)
    phone, laptop = Passkey(), Passkey()
    phone_id = add_passkey(keycloak_admin, parent_id, "Téléphone", phone)
    laptop_id = add_passkey(keycloak_admin, parent_id, "Portable", laptop)
    browser(portal_env).login(email, PASSWORD)  # a password login uses no passkey
    assert [p["last_used_at"] for p in rpc.identity.passkeys(parent_id)] == [None, None]

    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)  # Keycloak's clock is this machine's
    tokens = browser(portal_env).login_with_passkey(phone, parent_id)
    assert tokens["access_token"]
    used = {p["passkey_id"]: p["last_used_at"] for p in rpc.identity.passkeys(parent_id)}
    assert used[laptop_id] is None
    assert before <= dt.datetime.fromisoformat(used[phone_id]) <= dt.datetime.now(dt.timezone.utc)
    exported = {p["passkey_id"]: p["last_used_at"] for p in rpc.identity.export(parent_id)["passkeys"]}
    assert exported == used

    # The newest use counts: a second login with the phone moves its date on.
    browser(portal_env).login_with_passkey(phone, parent_id)
    again = {p["passkey_id"]: p["last_used_at"] for p in rpc.identity.passkeys(parent_id)}
    assert dt.datetime.fromisoformat(again[phone_id]) > dt.datetime.fromisoformat(used[phone_id])
    assert again[laptop_id] is None


def test_no_second_factor_after_a_passkey(identity, rpc, mailbox, keycloak_admin, portal_env):
    """A passkey is already two factors (the device, and the parent's fingerprint, face or code
    that it checks): two-factor's code is asked after the password only."""
    email = new_email()
    parent_id = register(rpc, mailbox, email)
    user = keycloak_admin.get_user(parent_id)
    keycloak_admin.update_user(parent_id, dict(user, credentials=[{
        "type": "otp", "userLabel": "Application", "secretData": json.dumps({"value": "JBSWY3DPEHPK3PXPJBSWY3DP"}),
        "credentialData": json.dumps({"subType": "totp", "digits": 6, "period": 30, "algorithm": "HmacSHA1",
                                      "counter": 0})}]))
    assert rpc.identity.me(parent_id)["totp_enabled"] is True
    passkey = Passkey()
    add_passkey(keycloak_admin, parent_id, "Téléphone", passkey)

    with_password = browser(portal_env)
    step = with_password.submit(with_password.start(), username=email, password=PASSWORD)
    with pytest.raises(LoginFailed):  # no code yet: the page asks the authenticator app's
        with_password.code_of(step)
    assert 'name="otp"' in step.text

    assert browser(portal_env).login_with_passkey(passkey, parent_id)["access_token"]
    # That is only so because the device checked the parent: a key that did not is refused.
    with pytest.raises(LoginFailed):
        browser(portal_env).login_with_passkey(passkey, parent_id, verified=False)


def test_another_parent_s_passkey_does_not_sign_in_as_this_one(identity, rpc, mailbox, keycloak_admin, portal_env):
    parent_id = register(rpc, mailbox, new_email())
    other_id = register(rpc, mailbox, new_email())
    theirs = Passkey()
    add_passkey(keycloak_admin, other_id, "Téléphone", theirs)
    with pytest.raises(LoginFailed):
        browser(portal_env).login_with_passkey(theirs, parent_id)
    assert [p["last_used_at"] for p in rpc.identity.passkeys(other_id)] == [None]


def test_closing_the_account_takes_its_passkeys(identity, rpc, mailbox, keycloak_admin):
    email = new_email()
    parent_id = register(rpc, mailbox, email)
    add_passkey(keycloak_admin, parent_id, "Téléphone")
    assert rpc.identity.close_account(parent_id, email) == {"status": "closed"}
    with pytest.raises(NotFound):
        rpc.identity.passkeys(parent_id)
    assert keycloak_admin.get_users({"email": email, "exact": True}) == []


def test_the_realm_offers_passkeys_beside_the_password(keycloak_admin):
    """WebAuthn Passwordless with discoverable keys and the user verified, the 26.x passkeys
    switch of the login form, and the registration action a parent starts from « Mon compte »."""
    realm = keycloak_admin.get_realm("portal")
    assert realm["webAuthnPolicyPasswordlessPasskeysEnabled"] is True
    assert realm["webAuthnPolicyPasswordlessRequireResidentKey"] == "Yes"
    assert realm["webAuthnPolicyPasswordlessUserVerificationRequirement"] == "required"
    assert realm["webAuthnPolicyPasswordlessRpEntityName"] == "Portail Parents"
    actions = {a["alias"]: a for a in keycloak_admin.get_required_actions()}
    assert actions["webauthn-register-passwordless"]["enabled"] is True
    # Offered, never forced: no parent is made to register one.
    assert actions["webauthn-register-passwordless"].get("defaultAction") is not True
    assert realm["resetPasswordAllowed"] is False  # the emailed-code reset stays the portal's
