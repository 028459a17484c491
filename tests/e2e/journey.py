"""The browser side of the end-to-end tests, run as its own process by ``test_journey.py``:
Playwright's synchronous API and the green threads the test session patches in cannot share a
process (its waits never wake under eventlet's hub).

    python -m tests.e2e.journey parent|other-parent|sign-in-down PORTAL_URL AMQP_URL

Each journey drives Debian's Chromium through the real portal; axe-core checks every screen and
its picture is kept at phone and desktop widths in docs/screenshots/.
"""
import json
import os
import sys
import time
import uuid

from kombu import Connection, Exchange, Queue
from playwright.sync_api import expect

import contracts
from scripts.school_calendar import last_school_day, next_school_day
from servicekit.schooltime import school_today, school_year_of
from tests.e2e.browser import AXE, DESKTOP, PHONE, SCREENSHOTS, run_page
from tests.e2e.clock import long_date_fr
from tests.gateway.stack import PASSWORD, absence, child_events, publish, request, school_events
from tests.identity.conftest import Mailbox



class Screens:
    """Checks every screen with axe-core. The pictures of the screens are test_screens.py's; this
    journey keeps only those of the screens nothing else shows (``picture``)."""

    def __init__(self, page):
        self.page = page
        self.axe = AXE.read_text()

    def check(self, name: str, picture: bool = False) -> None:
        page = self.page
        # Not "networkidle": the page keeps its live-update stream open.
        page.wait_for_load_state("load")
        page.wait_for_selector("main:not([aria-busy]) h1")
        # Evaluated over the DevTools protocol, so the page's strict CSP stays on.
        if not page.evaluate("() => typeof axe !== 'undefined'"):
            page.evaluate(self.axe)
        result = page.evaluate("""() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})""")
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
                   if v["impact"] in ("serious", "critical")]
        assert not serious, f"{name}: {serious}"
        if not picture:
            return
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)

BOARD_A, SCHOOL_A = "css-e2e-a", "css-e2e-a.ecole-des-pins"
BOARD_B, SCHOOL_B = "css-e2e-b", "css-e2e-b.ecole-du-lac"
LEA, NOAH = f"{BOARD_A}.1111111", f"{BOARD_B}.2222222"


def _example(event_type: str, **changes) -> contracts.Envelope:
    with open(os.path.join(os.path.dirname(contracts.__file__), "examples", f"{event_type}.json")) as f:
        data = dict(json.load(f)["data"], **changes)
    spec = contracts.EVENTS[event_type]
    return contracts.Envelope.new(event_type, "sis", data[spec.subject_field.split(".")[0]], data, "e2e")


def _seed_schools(amqp_url: str, email: str) -> None:
    publish(school_events(BOARD_A, SCHOOL_A) + school_events(BOARD_B, SCHOOL_B)
            + child_events(BOARD_A, SCHOOL_A, "1111111", "Léa", email)
            + child_events(BOARD_B, SCHOOL_B, "2222222", "Noah", email), amqp_url)


def _create_account(page, screens: Screens | None, email: str) -> None:
    """"Créer votre compte": a code by email, then the password."""
    mailbox = Mailbox(os.environ["PORTAL_MAIL_DIR"])
    page.get_by_role("link", name="Créer votre compte").click()
    page.get_by_label("Courriel", exact=True).fill(email)
    if screens:
        screens.check("creer-un-compte")
    page.get_by_role("button", name="Obtenir un code de vérification").click()
    page.get_by_label("Code de vérification").fill(mailbox.code_for(email, timeout=30))
    page.get_by_role("button", name="Vérifier le code").click()
    page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    page.get_by_label("Confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Votre compte est créé")).to_be_visible()


def _log_in(page, portal, email: str) -> None:
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.locator("#username").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#kc-login").click()
    page.wait_for_url(f"{portal.url}/famille")


def _link(page, board: str, last: str, first: str, number: str, another: bool) -> None:
    page.get_by_label("Centre de services scolaire ou école privée").select_option(board)
    page.get_by_label("Nom de famille de l'enfant").fill(last)
    page.get_by_label("Prénom de l'enfant").fill(first)
    page.get_by_label("Date de naissance").fill("2018-08-05")
    page.get_by_label("Numéro de fiche (7 chiffres)").fill(number)
    page.get_by_label("Associer un autre enfant après celui-ci").set_checked(another)
    page.get_by_role("button", name="Soumettre").click()


def parent(page, portal, amqp_url):
    screens = Screens(page)
    email = f"parent.{uuid.uuid4().hex[:10]}@example.org"
    _seed_schools(amqp_url, email)
    school_bus = Connection(amqp_url)
    declared = Queue(f"e2e-school-system-{uuid.uuid4().hex[:8]}", Exchange("attendance.events", "topic", durable=True),
                     routing_key="AbsenceDeclared", exclusive=True)
    declared(school_bus.default_channel).declare()

    page.goto(f"{portal.url}/")
    expect(page.get_by_role("heading", name="Bienvenue sur le Portail Parents")).to_be_visible()
    screens.check("accueil")
    _create_account(page, screens, email)
    _log_in(page, portal, email)

    # Link two children of two boards, staying in the form for the second.
    page.get_by_role("link", name="Cliquez ici pour remplir le formulaire").click()
    expect(page.get_by_role("heading", name="Associer un enfant à mon compte")).to_be_visible()
    _link(page, BOARD_A, "Gagnon", "Léa", "1111111", another=True)
    expect(page.locator("main").get_by_text("Le dossier de Léa Gagnon est maintenant associé à votre compte.")).to_be_visible()
    screens.check("associer-un-enfant")
    _link(page, BOARD_B, "Gagnon", "Noah", "2222222", another=False)
    page.wait_for_url(f"{portal.url}/enfants/{NOAH}")

    # What the school published: an absence, a bulletin, a statement and a message for Léa.
    first = absence(LEA, SCHOOL_A)
    publish([first, _example("BulletinPublished", bulletin_id="bul-e2e-1", student_id=LEA, school_id=SCHOOL_A,
                             school_year=school_year_of(school_today())),
             _example("StatementIssued", statement_id="edc-e2e-1", account_id=f"{BOARD_A}.fam-1", student_id=LEA,
                      school_id=SCHOOL_A),
             _example("MessagePublished", message_id="msg-e2e-1", audience={
                 "scope": "school", "org_id": BOARD_A, "school_id": SCHOOL_A, "group": None, "student_id": None})],
            amqp_url)

    page.get_by_role("link", name="Famille", exact=True).click()
    expect(page.get_by_role("heading", name="Léa Gagnon")).to_be_visible()
    expect(page.get_by_role("heading", name="Noah Gagnon")).to_be_visible()
    screens.check("famille")
    page.get_by_role("link", name="Voir le dossier de Léa").click()
    expect(page.get_by_role("heading", name="Léa Gagnon", level=1)).to_be_visible()
    screens.check("enfant")

    # Results, finances, messages.
    page.goto(f"{portal.url}/enfants/{LEA}/results")
    expect(page.get_by_text("Belle progression.")).to_be_visible(timeout=20_000)
    screens.check("resultats")
    page.goto(f"{portal.url}/enfants/{LEA}/finances")
    expect(page.get_by_text("Matériel didactique")).to_be_visible()
    screens.check("finances")
    page.goto(f"{portal.url}/enfants/{LEA}/messages")
    expect(page.get_by_text("Journée pédagogique le 27 novembre")).to_be_visible()
    screens.check("messages")

    # Absences: the one the school recorded, justified; one declared, received by the school system.
    page.goto(f"{portal.url}/enfants/{LEA}/absences")
    expect(page.get_by_role("heading", name="Absences à motiver")).to_be_visible()
    screens.check("absences")
    page.get_by_text("— Motiver").click()
    page.get_by_role("button", name="Soumettre").first.click()
    expect(page.locator(f"[data-absence='{first.data['absence_id']}'] .badge")).to_have_text("Motivée")
    declared_day = next_school_day()
    page.get_by_label("Date de l'absence").fill(declared_day.isoformat())
    page.get_by_label("Type d'absence").select_option("full_day")
    page.get_by_label("Explication").last.fill("Rendez-vous chez le dentiste.")
    page.locator("form").last.get_by_role("button", name="Soumettre").click()
    expect(page.get_by_text(f"{long_date_fr(declared_day)} — Toute la journée")).to_be_visible()
    received = _wait_for(lambda: declared(school_bus.default_channel).get(no_ack=True), 15)
    assert received.payload["type"] == "AbsenceDeclared" and received.payload["data"]["student_id"] == LEA

    # A new absence shows on the open page without reload.
    live = absence(LEA, SCHOOL_A, last_school_day(last_school_day()))
    publish([live], amqp_url)
    expect(page.locator(".live-banner")).to_be_visible(timeout=5_000)
    expect(page.locator(f"[data-absence='{live.data['absence_id']}']")).to_be_visible(timeout=5_000)

    # English, then "download my data", then log out.
    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_role("heading", name="Absences to justify")).to_be_visible()
    page.get_by_role("link", name="My account").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    exported = json.loads(open(download.value.path()).read())
    assert {"linking", "attendance", "notices"} <= set(exported["services"])
    screens.check("mon-compte")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{portal.url}/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    school_bus.release()


def other_parent(page, portal, amqp_url):
    """A child of another family, with an absence recorded, that this parent reaches by address
    only: set up here, in a board of its own, so that the scenario stands alone."""
    board = f"css-e2e-{uuid.uuid4().hex[:8]}"
    school, number = f"{board}.ecole", "3333333"
    child = f"{board}.{number}"
    publish(school_events(board, school) + child_events(board, school, number, "Léa",
                                                        f"famille.{uuid.uuid4().hex[:10]}@example.org")
            + [absence(child, school)], amqp_url)
    email = f"autre.{uuid.uuid4().hex[:10]}@example.org"
    page.goto(f"{portal.url}/")
    _create_account(page, None, email)
    _log_in(page, portal, email)
    token = page.evaluate("() => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage).find(k => k.startsWith('oidc.user'))) ).access_token")
    # linking lists the new board once it has taken in the school's batch, the child with it
    _wait_for(lambda: board in json.dumps(request(portal.url, "GET", f"/api/v1/organisations?query={board}",
                                                  token)[2]) or None, 15)
    for path in (f"/enfants/{child}", f"/enfants/{child}/absences", f"/enfants/{child}/record"):
        page.goto(portal.url + path)
        expect(page.get_by_role("heading", name="Cette page n'existe pas.")).to_be_visible()
        expect(page.get_by_text("Léa")).to_have_count(0)
    status, _, body = request(portal.url, "GET", f"/api/v1/children/{child}/absences", token)
    assert status == 404 and body["code"] == "child_not_found"


def sign_in_down(page, portal, amqp_url):
    """Keycloak out of reach: the login button, and a page that needs a login, say so."""
    unavailable = "La connexion est momentanément indisponible. Réessayez dans quelques minutes."
    page.goto(f"{portal.url}/")
    page.get_by_role("button", name="Se connecter", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(unavailable)
    page.goto(f"{portal.url}/famille")
    expect(page.get_by_role("alert")).to_have_text(unavailable)
    Screens(page).check("connexion-indisponible", picture=True)
    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_role("alert")).to_have_text("Signing in is temporarily unavailable. Please try again in a few minutes.")


def _wait_for(get, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = get()
        if value is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"nothing within {timeout}s")


def main(journey: str, portal_url: str, amqp_url: str) -> None:
    scenarios = {"parent": parent, "other-parent": other_parent, "sign-in-down": sign_in_down}
    run_page(scenarios[journey], journey, portal_url, amqp_url)


if __name__ == "__main__":
    main(*sys.argv[1:4])
