"""Abuse tests run against the whole portal as processes (the end-to-end tests' ``portal``), with
parents who created their accounts the way a parent does: an emailed code through the gateway,
then a password, then a login on the portal realm's real Keycloak pages.

Each group of requests leaves from a loopback address of its own (127.0.0.2, 127.0.0.3, …): the
gateway passes the caller's address to identity's per-address limit on code requests, and a
fuzzer or a brute-force test sharing 127.0.0.1 would use up the budget of the other tests.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

from servicekit.schooltime import school_today
from tests.e2e.conftest import portal, realm_allows, web_client  # noqa: F401  (the whole portal, as processes)
from tests.gateway.stack import PASSWORD, child_events, publish, school_events, sis
from tests.identity.browser import Browser
from tests.identity.conftest import Mailbox
from tests.support import eventually

API = "/api/v1"
BOARD_A, SCHOOL_A = "css-abus-a", "css-abus-a.ecole-des-erables"
BOARD_B, SCHOOL_B = "css-abus-b", "css-abus-b.ecole-des-cedres"


class SourceAddress(HTTPAdapter):
    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def client(address: str) -> requests.Session:
    """HTTP from ``address`` (a loopback address of the caller's own)."""
    session = requests.Session()
    session.mount("http://", SourceAddress(address))
    return session


class Parent:
    """A parent with an account; ``token()`` is a fresh access token (logging in again before the
    realm's five-minute tokens run out, so a long fuzz keeps a valid one)."""

    def __init__(self, keycloak_url: str, email: str, parent_id: str):
        self.keycloak_url, self.email, self.parent_id = keycloak_url, email, parent_id
        self._token, self._until = "", 0.0

    def token(self) -> str:
        if time.monotonic() > self._until:
            self._token = Browser(self.keycloak_url).login(self.email, PASSWORD)["access_token"]
            self._until = time.monotonic() + 200
        return self._token

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token()}"}


def new_email(label: str) -> str:
    return f"{label}.{uuid.uuid4().hex[:10]}@example.org"


@pytest.fixture(scope="session")
def accounts(portal, portal_env):
    """``accounts(email, address)``: an account created through the gateway, as a parent does."""
    mailbox = Mailbox(os.environ["PORTAL_MAIL_DIR"])

    def create(email: str, address: str) -> Parent:
        http = client(address)
        proven = eventually(lambda: prove(http, email), timeout=60, interval=0.5)
        created = http.post(f"{portal.url}{API}/accounts", json={
            "ticket": proven["ticket"], "password": PASSWORD, "password_confirmation": PASSWORD, "locale": "fr"},
            timeout=20)
        assert created.status_code == 201, created.text
        return Parent(portal_env["PORTAL_KEYCLOAK_URL"], email, created.json()["parent_id"])

    def prove(http: requests.Session, email: str) -> dict | None:
        """The ticket for the emailed code; None when the machine was too slow (the service's
        answer came after the gateway's deadline, or a late mail brought an older code), to try
        again as a parent would."""
        before = len(mailbox.mails_to(email))
        sent = http.post(f"{portal.url}{API}/accounts/codes", json={"email": email, "locale": "fr"}, timeout=20)
        if sent.status_code == 503:
            return None
        assert sent.status_code == 202, sent.text
        proven = http.post(f"{portal.url}{API}/accounts/codes/verification",
                           json={"email": email, "code": mailbox.code_for(email, after=before, timeout=30)},
                           timeout=20)
        if proven.status_code in (503, 422):
            return None
        assert proven.status_code == 200, proven.text
        return proven.json()

    return create


def link(portal, parent: Parent, board: str, number: str, first_name: str) -> str:
    """Link the child through the form's route; waits while linking has not yet heard that the
    account is verified (an answer that counts no attempt)."""
    form = {"org_id": board, "last_name": "Gagnon", "first_name": first_name, "birth_date": "2018-08-05",
            "student_number": number}

    def linked():
        answer = requests.post(f"{portal.url}{API}/children", json=form, headers=parent.headers(), timeout=20)
        assert answer.status_code == 201 or answer.json()["code"] == "account_not_verified", answer.text
        return answer.status_code == 201

    eventually(linked, timeout=30, interval=0.3)
    return f"{board}.{number}"


def children_of(portal, parent: Parent) -> list[str]:
    answer = requests.get(f"{portal.url}{API}/children", headers=parent.headers(), timeout=20)
    assert answer.status_code == 200, answer.text
    return [child["student_id"] for child in answer.json()]


def wait_for_boards(portal, parent: Parent) -> None:
    """Linking knows both boards (and, published behind them, their students)."""
    def known():
        answer = requests.get(f"{portal.url}{API}/organisations", params={"query": "abus"},
                              headers=parent.headers(), timeout=20)
        assert answer.status_code == 200, answer.text
        return {BOARD_A, BOARD_B} <= {o["id"] for o in answer.json()["items"]}

    eventually(known, timeout=30, interval=0.3)


class Family:
    """Who asks (``asker``), what is theirs (``own``), and the children they must never see."""

    def __init__(self, asker: Parent, own: str, foreign: dict[str, str]):
        self.asker, self.own, self.foreign = asker, own, foreign


@pytest.fixture(scope="session")
def family(portal, accounts):
    """The asking parent: one child of their own; a child they had and that the school withdrew;
    one whose record no longer names them (unlinked). The other parent: a child in the same board
    and one in another board. And a student id that exists nowhere."""
    asker_email, other_email = new_email("demandeur"), new_email("autre")
    events = (school_events(BOARD_A, SCHOOL_A) + school_events(BOARD_B, SCHOOL_B)
              + child_events(BOARD_A, SCHOOL_A, "1100001", "Léa", asker_email)
              + child_events(BOARD_A, SCHOOL_A, "1100002", "Zoé", asker_email)
              + child_events(BOARD_A, SCHOOL_A, "1100003", "Éli", asker_email)
              + child_events(BOARD_A, SCHOOL_A, "1100004", "Noah", other_email)
              + child_events(BOARD_B, SCHOOL_B, "2200001", "Emma", other_email))
    publish(events, portal.amqp_url)
    asker, other = accounts(asker_email, "127.0.0.5"), accounts(other_email, "127.0.0.5")
    wait_for_boards(portal, asker)
    own = link(portal, asker, BOARD_A, "1100001", "Léa")
    withdrawn = link(portal, asker, BOARD_A, "1100002", "Zoé")
    unlinked = link(portal, asker, BOARD_A, "1100003", "Éli")
    same_board = link(portal, other, BOARD_A, "1100004", "Noah")
    other_board = link(portal, other, BOARD_B, "2200001", "Emma")
    removed = next(e.data["guardian_id"] for e in events
                   if e.type == "GuardianAssigned" and e.data["student_id"] == unlinked)
    publish([sis("StudentWithdrawn", {"student_id": withdrawn, "date": school_today().isoformat()}),
             sis("GuardianRemoved", {"student_id": unlinked, "guardian_id": removed})], portal.amqp_url)
    eventually(lambda: children_of(portal, asker) == [own], timeout=30, interval=0.3)
    return Family(asker, own, {
        "enfant d'un autre parent, même centre": same_board,
        "enfant d'un autre centre de services": other_board,
        "enfant retiré par l'école": withdrawn,
        "enfant dissocié": unlinked,
        "enfant inexistant": f"{BOARD_A}.9999999",
    })


def fuzz_parent(portal, accounts, number: str, first_name: str) -> Parent:
    """A parent of their own (a fuzz may change preferences, end sessions, turn two-factor on, try
    links), with a child in the board the families' fixture registered."""
    parent = accounts(new_email("fuzz"), "127.0.0.6")
    parent.http = client("127.0.0.2")  # the fuzz's own budget of code requests
    publish(child_events(BOARD_A, SCHOOL_A, number, first_name, parent.email), portal.amqp_url)
    parent.child = link(portal, parent, BOARD_A, number, first_name)
    # Every service behind the gateway has answered once, and the families' events are taken in
    # (the first answers of a service still catching up can miss the gateway's deadline).
    for path in ("/organisations", "/family", "/me", "/inbox", "/preferences",
                 f"/children/{parent.child}/dashboard", f"/children/{parent.child}/absences"):
        eventually(lambda path=path: requests.get(f"{portal.url}{API}{path}", headers=parent.headers(),
                                                  timeout=20).status_code == 200, timeout=60, interval=0.5)
    return parent


@pytest.fixture(scope="session")
def fuzzing_parent(portal, accounts, family):
    return fuzz_parent(portal, accounts, "1100009", "Alix")


@pytest.fixture(scope="session")
def conformance_parent(portal, accounts, family):
    """Another: what one fuzz did to its parent's account (two-factor on) cannot stop the other's login."""
    return fuzz_parent(portal, accounts, "1100010", "Inès")
