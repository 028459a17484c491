"""Identity's rules, without servers: the password rule, codes, tickets, the account stream."""
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from servicekit.errors import Conflict, DomainError, TooManyAttempts
from services.identity import domain

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)
REALM = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "portal-realm.json"
PARENT = "0f5e2d8a-3c41-4b7e-9d2a-6c1b8e4f7a90"


def codes(password, email=None):
    return [code for code, _ in domain.PASSWORD_RULE.unmet(password, email)]


@pytest.mark.parametrize("password", [
    "Abcdefg1", "abcdefg1!", "ABCDEFG1!", "Abcdefg!", "Élève-2026", "une phrase de passe Très longue",
    "Un mot de passe de bien plus de seize caractères 2026",
])
def test_passwords_with_three_of_four_classes_and_eight_characters_pass(password):
    assert codes(password) == []


@pytest.mark.parametrize("password, expected", [
    ("Ab1!", ["password_too_short"]),
    ("abcdefgh", ["password_too_simple"]),
    ("abcdefg1", ["password_too_simple"]),
    ("ABCDEFGH", ["password_too_simple"]),
    ("éèàçôûîï", ["password_too_simple"]),
    ("A1!" * 50, ["password_too_long"]),
])
def test_each_unmet_rule_has_its_own_code(password, expected):
    assert codes(password) == expected


def test_the_missing_classes_are_named():
    (code, params), = domain.PASSWORD_RULE.unmet("abcdefgh")
    assert params == {"min_classes": 3, "missing": ["upper", "digit", "symbol"]}


def test_the_email_itself_is_not_a_password():
    assert codes("Julie.Gagnon@example.org", "julie.gagnon@example.org") == ["password_is_email"]


def test_check_raises_the_first_problem_then_the_mismatch():
    with pytest.raises(DomainError) as short:
        domain.PASSWORD_RULE.check("Ab1!", "Ab1!")
    assert (short.value.code, short.value.field, short.value.params) == ("password_too_short", "password", {"min": 8})
    with pytest.raises(DomainError) as mismatch:
        domain.PASSWORD_RULE.check("Abcdefg1", "Abcdefg2")
    assert (mismatch.value.code, mismatch.value.field) == ("password_mismatch", "password_confirmation")
    domain.PASSWORD_RULE.check("Abcdefg1", "Abcdefg1")


def test_the_realm_file_carries_the_same_password_rule():
    realm = json.loads(REALM.read_text(encoding="utf-8"))
    assert realm["passwordPolicy"] == domain.PASSWORD_RULE.keycloak_policy()


def test_codes_are_six_digits_and_stored_as_salted_hashes():
    code = domain.new_code()
    assert re.fullmatch(r"[0-9]{6}", code)
    salt_a, salt_b = domain.new_salt(), domain.new_salt()
    assert domain.hash_code(code, salt_a) != domain.hash_code(code, salt_b)
    assert code.encode() not in domain.hash_code(code, salt_a)


def pending(code="123456", **changes):
    salt = b"0123456789abcdef"
    values = dict(code_hash=domain.hash_code(code, salt), salt=salt, expires_at=NOW + timedelta(minutes=15),
                  failed_tries=0, used=False)
    values.update(changes)
    return domain.PendingCode(**values)


def test_the_right_code_proves_the_email_and_a_wrong_one_does_not():
    assert domain.check_code(pending(), "123456", NOW) is True
    assert domain.check_code(pending(), "654321", NOW) is False


@pytest.mark.parametrize("state, code", [
    (None, "code_invalid"),
    (dict(used=True), "code_used"),
    (dict(expires_at=NOW), "code_expired"),
])
def test_a_code_that_cannot_be_used_says_why(state, code):
    with pytest.raises(DomainError) as refused:
        domain.check_code(None if state is None else pending(**state), "123456", NOW)
    assert (refused.value.code, refused.value.field) == (code, "code")


def test_five_wrong_tries_then_even_the_right_code_is_refused():
    answers = [domain.wrong_code(n) for n in range(1, 6)]
    assert [a.params.get("tries_left") for a in answers[:4]] == [4, 3, 2, 1]
    assert isinstance(answers[4], TooManyAttempts) and answers[4].code == "code_tries_exhausted"
    with pytest.raises(TooManyAttempts):
        domain.check_code(pending(failed_tries=5), "123456", NOW)


def test_a_ticket_serves_once_its_own_flow_before_it_expires():
    ticket = domain.Ticket("register", "a@example.org", None, NOW + timedelta(minutes=10), False)
    assert domain.check_ticket(ticket, "register", NOW) is ticket
    for refused in (None, ticket.__class__("reset", "a@example.org", None, ticket.expires_at, False),
                    domain.Ticket("register", "a@example.org", None, ticket.expires_at, True),
                    domain.Ticket("register", "a@example.org", None, NOW, False)):
        with pytest.raises(DomainError) as error:
            domain.check_ticket(refused, "register", NOW)
        assert error.value.code == "ticket_invalid"


def test_requests_for_codes_are_limited_per_email_and_per_address():
    Requests = domain.Requests
    domain.check_rate(Requests(domain.REQUESTS_PER_EMAIL - 1, NOW), Requests(domain.REQUESTS_PER_ADDRESS - 1, NOW), NOW)
    with pytest.raises(TooManyAttempts) as per_email:
        domain.check_rate(Requests(domain.REQUESTS_PER_EMAIL, NOW - timedelta(minutes=20)),
                          Requests(1, NOW - timedelta(minutes=50)), NOW)
    assert per_email.value.params == {"retry_after": 40 * 60}  # when the email's oldest request expires
    with pytest.raises(TooManyAttempts) as per_address:
        domain.check_rate(Requests(0, None), Requests(domain.REQUESTS_PER_ADDRESS, NOW - timedelta(minutes=30)), NOW)
    assert per_address.value.params == {"retry_after": 30 * 60}


def test_the_rate_keys_never_hold_the_email():
    assert "julie" not in domain.rate_key("email", "julie@example.org")


def test_an_account_is_verified_once_then_changes_email_then_closes_once():
    account = domain.ParentAccount(PARENT)
    first = account.prove_email("julie@example.org", "fr", "c1")
    assert first.type == "ParentVerified" and first.subject == PARENT
    assert account.prove_email("julie@example.org", "fr", "c2") is None
    changed = account.prove_email("julie.gagnon@example.org", "fr", "c3")
    assert changed.type == "ParentEmailChanged"
    assert (changed.data["old_email"], changed.data["new_email"]) == ("julie@example.org", "julie.gagnon@example.org")
    assert account.close("c4").type == "ParentAccountClosed"
    assert account.close("c5") is None
    with pytest.raises(Conflict):
        account.prove_email("x@example.org", "fr", "c6")
    rebuilt = domain.ParentAccount.rebuild(PARENT, account.changes)
    assert rebuilt.closed and rebuilt.email == "julie.gagnon@example.org" and rebuilt.version == 3
