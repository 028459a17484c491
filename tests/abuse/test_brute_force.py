"""Guessing stops at its limit, end to end through the gateway (identity's and linking's own
tests prove the rules on their RPC; these prove what an attacker on HTTP meets): emailed codes,
a child's identity proofing, and the password on Keycloak's login page."""
import html
import os
import re

import pytest
import requests

from tests.abuse.conftest import API, BOARD_A, SCHOOL_A, client, new_email
from tests.gateway.stack import PASSWORD, child_events, publish
from tests.identity.browser import Browser, LoginFailed
from tests.identity.conftest import Mailbox
from tests.support import eventually


def test_guessing_an_emailed_code_stops_at_the_fifth_try_even_for_the_right_code(portal):
    http, email = client("127.0.0.3"), new_email("devin")
    mailbox = Mailbox(os.environ["PORTAL_MAIL_DIR"])
    assert http.post(f"{portal.url}{API}/accounts/codes", json={"email": email, "locale": "fr"},
                     timeout=20).status_code == 202
    code = mailbox.code_for(email, timeout=30)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    def verify(guess: str) -> requests.Response:
        return http.post(f"{portal.url}{API}/accounts/codes/verification", json={"email": email, "code": guess},
                         timeout=20)

    answers = [verify(wrong) for _ in range(5)]
    assert [a.status_code for a in answers] == [422] * 4 + [429]
    assert [a.json()["params"]["tries_left"] for a in answers[:4]] == [4, 3, 2, 1]
    assert {a.json()["code"] for a in answers[:4]} == {"code_invalid"}
    right = verify(code)
    assert right.status_code == 429 and right.json()["code"] == answers[4].json()["code"] == "code_tries_exhausted"
    assert "ticket" not in right.text
    assert right.json()["message"] == "Trop d'essais avec ce code de vérification. Demandez un nouveau code."


def test_asking_for_codes_for_one_email_stops_at_five_in_the_hour(portal):
    http, email = client("127.0.0.4"), new_email("inonde")
    mailbox = Mailbox(os.environ["PORTAL_MAIL_DIR"])
    answers = [http.post(f"{portal.url}{API}/accounts/codes", json={"email": email, "locale": "fr"}, timeout=20)
               for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [202] * 5, [a.text for a in answers]
    refused = answers[5]
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_code_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.json()["params"]["retry_after"] == int(refused.headers["Retry-After"])
    assert len(mailbox.mails_to(email)) == 5


def test_guessing_a_childs_details_locks_linking_after_five_mismatches(portal, accounts, family):
    email = new_email("devineur")
    publish(child_events(BOARD_A, SCHOOL_A, "1100020", "Maëlle", email), portal.amqp_url)
    parent = accounts(email, "127.0.0.3")
    form = {"org_id": BOARD_A, "last_name": "Gagnon", "birth_date": "2018-08-05", "student_number": "1100020"}

    def attempt(first_name: str) -> requests.Response:
        # linking may not have heard yet that the account is verified: told so, nothing counted.
        return eventually(lambda: _counted(requests.post(
            f"{portal.url}{API}/children", json=dict(form, first_name=first_name), headers=parent.headers(),
            timeout=20)), timeout=30, interval=0.3)[0]

    guesses = [attempt(name) for name in ("Maelle", "Maël", "Mélanie", "Maude", "Marie")]
    assert [g.status_code for g in guesses] == [422] * 5
    # Every mismatch is the same answer: nothing says which detail was wrong.
    assert len({g.content for g in guesses}) == 1 and guesses[0].json()["code"] == "link_mismatch"
    assert guesses[0].json()["field"] is None
    right = attempt("Maëlle")
    assert right.status_code == 429 and right.json()["code"] == "link_locked"
    assert 3500 < int(right.headers["Retry-After"]) <= 3601
    assert re.search(r"réessayez dans \d+ minutes", right.json()["message"])
    answer = requests.get(f"{portal.url}{API}/children", headers=parent.headers(), timeout=20)
    assert answer.status_code == 200 and answer.json() == []


def _counted(answer: requests.Response) -> list | None:
    return None if answer.json().get("code") == "account_not_verified" else [answer]


def test_guessing_a_password_locks_the_login_and_the_lock_looks_like_a_wrong_password(portal, accounts):
    parent = accounts(new_email("verrou"), "127.0.0.3")
    keycloak = os.environ["PORTAL_KEYCLOAK_URL"]
    pages = []
    for _ in range(5):
        with pytest.raises(LoginFailed) as refused:
            Browser(keycloak).login(parent.email, "Pas-le-bon-2026")
        pages.append(refused.value.page)
    with pytest.raises(LoginFailed) as locked:  # Keycloak's brute-force detection: even the right one
        Browser(keycloak).login(parent.email, PASSWORD)
    # The page says what a wrong password gets, so a guesser cannot tell a locked account apart.
    assert _error(locked.value.page) == _error(pages[0]) == "Courriel ou mot de passe invalide."


def _error(page: str) -> str:
    """The error the login page shows under the fields."""
    found = re.search(r'class="[^"]*kc-feedback-text[^"]*">([^<]*)<', page)
    return html.unescape(found.group(1)).strip() if found else ""
