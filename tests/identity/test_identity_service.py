"""Identity against the real servers: Keycloak (the portal realm and the stand-in social
provider), the SMTP sink (the mail the notices service sends), PostgreSQL and RabbitMQ."""
from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid

import pytest
from sqlalchemy import text

from contracts.fields import FORGOTTEN
from servicekit import store
from servicekit.errors import Conflict, DomainError, NotFound, TooManyAttempts
from services.identity import domain
from services.identity.service import IdentityService
from services.notices.service import NoticesService
from tests.identity.browser import Browser, LoginFailed
from tests.identity.conftest import new_email
from tests.support import eventually

PASSWORD = "Hibou-des-neiges-2026"


@pytest.fixture
def identity(start_service):
    start_service(NoticesService)
    return start_service(IdentityService)


@pytest.fixture
def identity_db(engine_of):
    return engine_of("identity")


def address() -> str:
    """A client address of the test's own, so that the per-address limit is the test's."""
    return f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"


def registration_code(rpc, mailbox) -> tuple[str, str]:
    """A new email and the registration code mailed to it."""
    email = new_email()
    rpc.identity.request_code("register", email, "fr", address())
    return email, mailbox.code_for(email)


def proven_ticket(rpc, mailbox, flow: str, email: str, **kwargs) -> str:
    before = len(mailbox.mails_to(email))
    rpc.identity.request_code(flow, email, "fr", address(), **kwargs)
    code = mailbox.code_for(email, after=before)
    return rpc.identity.verify_code(flow, email, code)["ticket"]


def register(rpc, mailbox, email: str, password: str = PASSWORD) -> str:
    ticket = proven_ticket(rpc, mailbox, "register", email)
    return rpc.identity.register(ticket, password, password, "fr")["parent_id"]


# -- create an account by emailed code ----------------------------------------------------------


def test_a_parent_creates_an_account_by_code_and_logs_in(identity, rpc, mailbox, bus, portal_env, keycloak_admin):
    email = new_email()
    answer = rpc.identity.request_code("register", email, "fr", address())
    assert answer == {"status": "code_sent", "expires_in_seconds": 900, "previous_codes_cancelled": True}
    mail, = mailbox.mails_to(email)
    assert mail["Content-Language"] == "fr-CA"
    code = mailbox.code_for(email)

    ticket = rpc.identity.verify_code("register", email, code)["ticket"]
    created = rpc.identity.register(ticket, PASSWORD, PASSWORD, "fr")
    parent_id = created["parent_id"]
    assert created["email"] == email

    user = keycloak_admin.get_user(parent_id)
    assert (user["email"], user["emailVerified"], user["attributes"]["locale"]) == (email, True, ["fr"])
    assert rpc.identity.me(parent_id) == {"parent_id": parent_id, "email": email, "school_email_verified": True,
                                          "locale": "fr", "totp_enabled": False}

    tokens = Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, PASSWORD)
    assert tokens["access_token"]

    verified = eventually(lambda: bus.of("ParentVerified", parent_id))
    assert len(verified) == 1
    assert verified[0]["data"] == {"parent_id": parent_id, "email": email, "locale": "fr"}


def test_a_new_code_cancels_the_previous_one(identity, rpc, mailbox):
    email = new_email()
    rpc.identity.request_code("register", email, "en", address())
    first = mailbox.code_for(email)
    rpc.identity.request_code("register", email, "en", address())
    second = mailbox.code_for(email, after=1)
    assert mailbox.mails_to(email)[-1]["Content-Language"] == "en-CA"
    if first != second:
        with pytest.raises(DomainError) as old:
            rpc.identity.verify_code("register", email, first)
        assert old.value.code == "code_invalid"
    assert rpc.identity.verify_code("register", email, second)["ticket"]


def test_wrong_codes_count_and_the_sixth_try_is_refused(identity, rpc, mailbox):
    email, code = registration_code(rpc, mailbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    lefts = []
    for _ in range(4):
        with pytest.raises(DomainError) as refused:
            rpc.identity.verify_code("register", email, wrong)
        lefts.append(refused.value.params["tries_left"])
    assert lefts == [4, 3, 2, 1]
    with pytest.raises(TooManyAttempts) as fifth:
        rpc.identity.verify_code("register", email, wrong)
    assert fifth.value.code == "code_tries_exhausted"
    with pytest.raises(TooManyAttempts) as sixth:  # even the right code, now
        rpc.identity.verify_code("register", email, code)
    assert sixth.value.code == "code_tries_exhausted"


def test_a_code_serves_once_and_only_its_own_email_and_flow(identity, rpc, mailbox):
    (email, code), other = registration_code(rpc, mailbox), new_email()
    for flow, target in (("register", other), ("reset", email)):
        with pytest.raises(DomainError) as foreign:
            rpc.identity.verify_code(flow, target, code)
        assert foreign.value.code == "code_invalid"
    rpc.identity.verify_code("register", email, code)
    with pytest.raises(DomainError) as reused:
        rpc.identity.verify_code("register", email, code)
    assert reused.value.code == "code_used"


def test_an_expired_code_is_refused(identity, rpc, mailbox, identity_db):
    email, code = registration_code(rpc, mailbox)
    with identity_db.begin() as conn:
        conn.execute(text("UPDATE verification_codes SET expires_at = now() - interval '1 second' "
                          "WHERE email = :e"), {"e": email})
    with pytest.raises(DomainError) as expired:
        rpc.identity.verify_code("register", email, code)
    assert expired.value.code == "code_expired"


def test_the_code_is_stored_only_as_a_salted_hash(identity, rpc, mailbox, identity_db):
    email, code = registration_code(rpc, mailbox)
    with identity_db.connect() as conn:
        dump = " ".join(str(row) for table in ("verification_codes", "code_requests", "tickets", "events")
                        for row in conn.execute(text(f"SELECT * FROM {table}")))
    assert code not in dump
    assert code.encode().hex() not in dump


@pytest.mark.parametrize("call, code, field", [
    (lambda rpc: rpc.identity.request_code("register", "pas-un-courriel", "fr", "a"), "invalid_email", "email"),
    (lambda rpc: rpc.identity.request_code("signup", new_email(), "fr", "a"), "invalid_choice", "flow"),
    (lambda rpc: rpc.identity.request_code("register", new_email(), "de", "a"), "invalid_choice", "locale"),
    (lambda rpc: rpc.identity.request_code("claim", new_email(), "fr", "a"), "required", "parent_id"),
    (lambda rpc: rpc.identity.verify_code("register", new_email(), "12ab56"), "code_format", "code"),
    (lambda rpc: rpc.identity.verify_code(flow="register", code="123456"), "required", "email"),
    (lambda rpc: rpc.identity.register(ticket="t", password=PASSWORD), "required", "password_confirmation"),
    (lambda rpc: rpc.identity.register("nope", PASSWORD, PASSWORD, "fr"), "ticket_invalid", "ticket"),
    (lambda rpc: rpc.identity.me("not-a-uuid"), "invalid", "parent_id"),
    (lambda rpc: rpc.identity.set_two_factor(str(uuid.uuid4()), "yes"), "invalid", "enabled"),
])
def test_bad_input_gets_a_clear_error(identity, rpc, call, code, field):
    with pytest.raises(DomainError) as refused:
        call(rpc)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_password_mismatch_or_weak_password_changes_nothing(identity, rpc, mailbox, keycloak_admin):
    email = new_email()
    ticket = proven_ticket(rpc, mailbox, "register", email)
    for password, confirmation, code in (("Abcdefgh", "Abcdefgh", "password_too_simple"),
                                         ("Ab1!", "Ab1!", "password_too_short"),
                                         (PASSWORD, PASSWORD + "x", "password_mismatch")):
        with pytest.raises(DomainError) as refused:
            rpc.identity.register(ticket, password, confirmation, "fr")
        assert refused.value.code == code
    assert keycloak_admin.get_users({"email": email, "exact": True}) == []
    # The ticket survived the refusals; used once, a replay is refused.
    parent_id = rpc.identity.register(ticket, PASSWORD, PASSWORD, "fr")["parent_id"]
    with pytest.raises(DomainError) as replay:
        rpc.identity.register(ticket, PASSWORD, PASSWORD, "fr")
    assert replay.value.code == "ticket_invalid"
    assert [u["id"] for u in keycloak_admin.get_users({"email": email, "exact": True})] == [parent_id]


def test_keycloak_refuses_what_our_password_rule_refuses(identity, rpc, mailbox, keycloak_admin):
    from keycloak.exceptions import KeycloakError

    parent_id = register(rpc, mailbox, new_email())
    with pytest.raises(KeycloakError) as refused:
        keycloak_admin.set_user_password(parent_id, "abcdefgh1", temporary=False)  # two classes
    assert refused.value.response_code == 400
    keycloak_admin.set_user_password(parent_id, "abcdéfgh1!", temporary=False)  # three, one accented


def test_an_existing_account_gets_the_same_answer_and_register_says_it_exists(identity, rpc, mailbox):
    email = new_email()
    register(rpc, mailbox, email)
    # The service never looks the email up before answering: same answer, same work.
    for target in (email, new_email()):
        answer = rpc.identity.request_code("register", target, "fr", address())
        assert answer == {"status": "code_sent", "expires_in_seconds": 900, "previous_codes_cancelled": True}
    # Only the owner of the mailbox, with the code, learns that the account exists.
    ticket = rpc.identity.verify_code("register", email, mailbox.code_for(email, after=1))["ticket"]
    with pytest.raises(Conflict) as exists:
        rpc.identity.register(ticket, PASSWORD, PASSWORD, "fr")
    assert exists.value.code == "account_exists"


def test_requests_for_codes_are_rate_limited_per_email_and_per_address(identity, rpc, mailbox):
    email = new_email()
    for _ in range(domain.REQUESTS_PER_EMAIL):
        rpc.identity.request_code("register", email, "fr", address())
    with pytest.raises(TooManyAttempts) as per_email:
        rpc.identity.request_code("register", email, "fr", address())
    assert per_email.value.code == "too_many_code_requests"
    assert 0 < per_email.value.params["retry_after"] <= 3600
    assert len(mailbox.mails_to(email)) == domain.REQUESTS_PER_EMAIL

    client = address()
    for _ in range(domain.REQUESTS_PER_ADDRESS):
        rpc.identity.request_code("reset", new_email(), "fr", client)
    with pytest.raises(TooManyAttempts):
        rpc.identity.request_code("reset", new_email(), "fr", client)


# -- forgotten password ---------------------------------------------------------------------------


def test_a_forgotten_password_is_reset_by_code(identity, rpc, mailbox, portal_env):
    email = new_email()
    register(rpc, mailbox, email)
    browser = Browser(portal_env["PORTAL_KEYCLOAK_URL"])
    session_tokens = browser.login(email, PASSWORD)

    ticket = proven_ticket(rpc, mailbox, "reset", email)
    with pytest.raises(DomainError) as weak:
        rpc.identity.reset_password(ticket, "motdepasse", "motdepasse")
    assert weak.value.code == "password_too_simple"
    new_password = "Nouveau-Départ-2027"
    assert rpc.identity.reset_password(ticket, new_password, new_password) == {"status": "password_changed"}

    assert browser.refresh(session_tokens["refresh_token"]).status_code == 400  # sessions ended
    with pytest.raises(LoginFailed):
        Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, PASSWORD)
    assert Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, new_password)["access_token"]


def test_a_reset_code_for_an_email_without_account_looks_the_same(identity, rpc, mailbox):
    email = new_email()
    answer = rpc.identity.request_code("reset", email, "fr", address())
    assert answer["status"] == "code_sent"
    ticket = rpc.identity.verify_code("reset", email, mailbox.code_for(email))["ticket"]
    with pytest.raises(NotFound) as missing:
        rpc.identity.reset_password(ticket, PASSWORD, PASSWORD)
    assert missing.value.code == "account_not_found"


# -- sessions, logout, two-factor ----------------------------------------------------------------


def test_a_parent_lists_and_ends_their_sessions_and_logs_out(identity, rpc, mailbox, portal_env):
    email = new_email()
    parent_id = register(rpc, mailbox, email)
    phone, laptop = Browser(portal_env["PORTAL_KEYCLOAK_URL"]), Browser(portal_env["PORTAL_KEYCLOAK_URL"])
    phone_tokens, laptop_tokens = phone.login(email, PASSWORD), laptop.login(email, PASSWORD)

    sessions = rpc.identity.sessions(parent_id)
    assert len(sessions) == 2
    assert all(s["clients"] == ["portal-web"] and s["ip_address"] == "127.0.0.1" for s in sessions)
    phone_session = phone.refresh(phone_tokens["refresh_token"]).json()
    ended = next(s for s in sessions if s["session_id"] == phone_session.get("session_state"))
    assert rpc.identity.end_session(parent_id, ended["session_id"]) == {"ended": ended["session_id"]}
    assert [s["session_id"] for s in rpc.identity.sessions(parent_id)] != [ended["session_id"]]
    assert len(rpc.identity.sessions(parent_id)) == 1
    assert phone.refresh(phone_session["refresh_token"]).status_code == 400

    with pytest.raises(NotFound) as foreign:  # not theirs, or gone: the same answer
        rpc.identity.end_session(parent_id, ended["session_id"])
    assert foreign.value.code == "session_not_found"

    assert laptop.logout(laptop_tokens["refresh_token"]).status_code == 204
    assert rpc.identity.sessions(parent_id) == []


def test_repeated_wrong_passwords_lock_the_login_for_a_while(identity, rpc, mailbox, portal_env):
    email = new_email()
    register(rpc, mailbox, email)
    for _ in range(5):
        with pytest.raises(LoginFailed):
            Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, "Pas-le-bon-2026")
    with pytest.raises(LoginFailed):  # Keycloak's brute-force detection: even the right one, now
        Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, PASSWORD)


def totp(secret: str, at: float | None = None) -> str:
    """The authenticator app's current code (RFC 6238, as Keycloak's realm policy sets it)."""
    counter = int((time.time() if at is None else at) // 30).to_bytes(8, "big")
    digest = hmac.new(secret.encode(), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def test_two_factor_is_turned_on_used_and_turned_off(identity, rpc, mailbox, portal_env):
    email = new_email()
    parent_id = register(rpc, mailbox, email)
    assert rpc.identity.set_two_factor(parent_id, True) == {"totp_enabled": False, "setup_pending": True}
    # At the next login Keycloak asks for an authenticator app before any code is issued.
    browser = Browser(portal_env["PORTAL_KEYCLOAK_URL"])
    setup = browser.submit(browser.start(), username=email, password=PASSWORD)
    with pytest.raises(LoginFailed):
        browser.code_of(setup)
    secret = re.search(r'name="totpSecret" value="([^"]+)"', setup.text).group(1)
    assert browser.tokens(browser.submit(setup, totp=totp(secret), totpSecret=secret, userLabel="téléphone"))
    assert rpc.identity.me(parent_id)["totp_enabled"] is True

    # From now on the password alone is not enough.
    second = Browser(portal_env["PORTAL_KEYCLOAK_URL"])
    asked = second.submit(second.start(), username=email, password=PASSWORD)
    with pytest.raises(LoginFailed):
        second.code_of(asked)
    # A code serves once; the next period's is within the realm's look-ahead window.
    assert second.tokens(second.submit(asked, otp=totp(secret, time.time() + 30)))["access_token"]

    assert rpc.identity.set_two_factor(parent_id, False) == {"totp_enabled": False, "setup_pending": False}
    assert rpc.identity.me(parent_id)["totp_enabled"] is False
    assert Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, PASSWORD)["access_token"]


# -- closing an account ----------------------------------------------------------------------------


def test_closing_an_account_deletes_the_user_and_tells_every_service_once(
        identity, rpc, mailbox, bus, keycloak_admin, portal_env):
    email = new_email()
    parent_id = register(rpc, mailbox, email)
    with pytest.raises(DomainError) as unconfirmed:
        rpc.identity.close_account(parent_id, "quelqu.un@example.org")
    assert unconfirmed.value.code == "confirmation_mismatch"
    assert keycloak_admin.get_users({"email": email, "exact": True})

    assert rpc.identity.close_account(parent_id, email.upper()) == {"status": "closed"}
    assert keycloak_admin.get_users({"email": email, "exact": True}) == []
    with pytest.raises(NotFound):
        rpc.identity.close_account(parent_id, email)
    with pytest.raises(NotFound):
        rpc.identity.me(parent_id)
    # Another parent's account, made after the refused second closing, is published after anything
    # that closing could have published.
    published = bus.through("ParentVerified", register(rpc, mailbox, new_email()))
    closed = [e for e in published if e["type"] == "ParentAccountClosed" and e["subject"] == parent_id]
    assert len(closed) == 1 and closed[0]["data"] == {"parent_id": parent_id}
    assert [e["type"] for e in published if e["subject"] == parent_id] == ["ParentVerified", "ParentAccountClosed"]
    with pytest.raises(LoginFailed):
        Browser(portal_env["PORTAL_KEYCLOAK_URL"]).login(email, PASSWORD)


# -- social login through the stand-in provider ----------------------------------------------------


def social_login(portal_env, email: str, password: str) -> dict:
    browser = Browser(portal_env["PORTAL_KEYCLOAK_URL"])
    standin_login = browser.start(kc_idp_hint="social-standin")
    assert "/realms/social-standin/" in standin_login.url
    return browser.tokens(browser.submit(standin_login, username=email, password=password))


def parent_of(tokens: dict, portal_env) -> str:
    from servicekit.tokens import TokenVerifier

    verifier = TokenVerifier(f"{portal_env['PORTAL_KEYCLOAK_URL']}/realms/portal", audience="portal-api")
    return verifier.verify(tokens["access_token"])["sub"]


def test_social_first_login_with_the_school_email_still_proves_it_by_code(
        identity, rpc, mailbox, bus, portal_env, social_account):
    email = new_email("social")
    password = social_account(email)
    parent_id = parent_of(social_login(portal_env, email, password), portal_env)
    assert rpc.identity.me(parent_id)["school_email_verified"] is False

    # The provider says the email is verified; the portal believes only its own code.
    with pytest.raises(DomainError) as unproven:
        rpc.identity.claim_school_email(parent_id, None)
    assert unproven.value.code == "code_required"
    ticket = proven_ticket(rpc, mailbox, "claim", email, parent_id=parent_id)
    assert rpc.identity.claim_school_email(parent_id, ticket) == {
        "parent_id": parent_id, "email": email, "school_email_verified": True}
    assert rpc.identity.me(parent_id)["school_email_verified"] is True
    rpc.identity.claim_school_email(parent_id, None)  # again: nothing new
    assert parent_of(social_login(portal_env, email, password), portal_env) == parent_id  # same account
    # Closing the account publishes after anything the second claim and login could have.
    rpc.identity.close_account(parent_id, email)
    published = [e for e in bus.through("ParentAccountClosed", parent_id) if e["subject"] == parent_id]
    assert [e["type"] for e in published] == ["ParentVerified", "ParentAccountClosed"]
    assert published[0]["data"]["email"] == email


def test_social_first_login_with_another_school_email_claims_it_by_code(
        identity, rpc, mailbox, bus, portal_env, social_account, keycloak_admin):
    social_email, school_email = new_email("social"), new_email("ecole")
    password = social_account(social_email)
    parent_id = parent_of(social_login(portal_env, social_email, password), portal_env)

    # Someone else's claim ticket, or none, does not prove the school email.
    stranger = str(uuid.uuid4())
    ticket_of_stranger = proven_ticket(rpc, mailbox, "claim", school_email, parent_id=stranger)
    with pytest.raises(DomainError) as foreign:
        rpc.identity.claim_school_email(parent_id, ticket_of_stranger)
    assert foreign.value.code == "ticket_invalid"

    ticket = proven_ticket(rpc, mailbox, "claim", school_email, parent_id=parent_id)
    assert rpc.identity.claim_school_email(parent_id, ticket)["email"] == school_email
    user = keycloak_admin.get_user(parent_id)
    assert (user["email"], user["emailVerified"]) == (school_email, True)
    assert rpc.identity.me(parent_id)["school_email_verified"] is True
    verified = eventually(lambda: bus.of("ParentVerified", parent_id))
    assert verified[0]["data"]["email"] == school_email

    # A later change of school email, proven the same way, is ParentEmailChanged.
    newer = new_email("ecole")
    rpc.identity.claim_school_email(parent_id, proven_ticket(rpc, mailbox, "claim", newer, parent_id=parent_id))
    published = [e for e in bus.through("ParentEmailChanged", parent_id) if e["subject"] == parent_id]
    assert [e["type"] for e in published] == ["ParentVerified", "ParentEmailChanged"]
    assert published[1]["data"] == {"parent_id": parent_id, "old_email": school_email, "new_email": newer}
    assert parent_of(social_login(portal_env, social_email, password), portal_env) == parent_id


def test_the_parents_read_model_is_rebuilt_from_the_store(identity, rpc, mailbox, database_url, identity_db):
    from servicekit.cli import rebuild_projections

    kept, closed = new_email(), new_email()
    register(rpc, mailbox, kept)
    rpc.identity.close_account(register(rpc, mailbox, closed), closed)

    def parents():
        with identity_db.connect() as conn:
            return sorted(conn.execute(text("SELECT parent_id, email, locale FROM parents")).all())

    def stored() -> set:
        with identity_db.connect() as conn:
            return {e.data["email"] for chunk in store.read_all(conn) for e in chunk if e.type == "ParentVerified"}

    before = parents()
    assert kept in {row.email for row in before} and closed not in {row.email for row in before}
    # The closed account's email is still in its event, sealed under a key that is gone.
    assert kept in stored() and closed not in stored() and FORGOTTEN in stored()
    assert rebuild_projections("identity", database_url("identity"))["events"] >= 3
    assert parents() == before
