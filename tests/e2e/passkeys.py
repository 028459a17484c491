"""The browser side of the passkey tests, run as its own process by ``test_passkeys.py`` (see
``journey.py`` for why): Chromium with a virtual authenticator (DevTools' WebAuthn domain: CTAP2,
built in, discoverable keys, the user verified) in front of the real portal and Keycloak.

    python -m tests.e2e.passkeys PORTAL_URL

WebAuthn refuses an IP address as the relying party, so the portal and Keycloak are reached as
``localhost`` here (the test's gateway takes tokens issued under that name).
"""
import base64
import os
import re
import sys
import uuid
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError, expect, sync_playwright

from tests.e2e.browser import DESKTOP, failure_picture, launch
from tests.e2e.journey import _create_account
from tests.gateway.stack import PASSWORD
from tests.identity.conftest import Mailbox

SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"


class Authenticator:
    """A platform authenticator of the page's browser context, as a phone's or a laptop's."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]

    def credentials(self) -> list[dict]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def clear(self) -> None:
        self.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": self.id})

    def add(self, credential: dict) -> None:
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential})


def _create_account_in_english(page, email: str) -> None:
    mailbox = Mailbox(os.environ["PORTAL_MAIL_DIR"])
    page.get_by_role("button", name="Switch to English").click()
    page.get_by_role("link", name="Create your account").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Get a verification code").click()
    page.get_by_label("Verification code").fill(mailbox.code_for(email, timeout=30))
    page.get_by_role("button", name="Verify the code").click()
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("Confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your account is created")).to_be_visible()


def _password(page, email: str) -> None:
    """Keycloak's form; after prompt=login in a live session it asks the password only."""
    if page.locator("#username").is_visible():
        page.locator("#username").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#kc-login").click()


def _fresh_page(browser, locale: str = "fr-CA"):
    context = browser.new_context(locale=locale, viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _keycloak_login_form(page, sign_in: str | None) -> None:
    if sign_in:
        page.get_by_role("button", name=sign_in, exact=True).click()
    page.wait_for_url(re.compile(r"/realms/portal/"))
    expect(page.locator("#username")).to_be_visible()


def _passkey_first(page, name: str) -> None:
    """The passkey button is shown, and comes before the email and password."""
    button = page.get_by_role("button", name=name)
    expect(button).to_be_visible()
    assert page.evaluate("""() => !!(document.getElementById('authenticateWebAuthnButton')
        .compareDocumentPosition(document.getElementById('username')) & Node.DOCUMENT_POSITION_FOLLOWING)""")


def _sign_in_with_passkey(page, portal_url: str, authenticator: Authenticator, sign_in: str, name: str) -> None:
    """The passkey button: the key is put in the authenticator once the page waits in the email
    field's autofill (which would otherwise take it at once), then the button asks for it."""
    held = authenticator.credentials()
    authenticator.clear()
    _keycloak_login_form(page, sign_in)
    _passkey_first(page, name)
    for credential in held:
        authenticator.add(credential)
    page.get_by_role("button", name=name).click()
    page.wait_for_url(f"{portal_url}/famille")


def _refused(page, portal_url: str, authenticator: Authenticator, sign_in: str, message: str) -> None:
    """The login page's autofill offers the key in the authenticator at once: Keycloak refuses it.
    The key is then taken out, or the login form shown again with the refusal would offer it again."""
    page.get_by_role("button", name=sign_in, exact=True).click()
    expect(page.get_by_text(message).first).to_be_visible()
    authenticator.clear()
    assert not page.url.startswith(portal_url)


def _home(page, portal_url: str) -> None:
    """Back to the portal's home from a refusal: the form shown again may have sent the key once
    more before it was taken out, and that refusal's page load cancels a first navigation; with no
    key left, the next one holds."""
    page.wait_for_load_state("networkidle")
    try:
        page.goto(f"{portal_url}/")
    except PlaywrightError as error:
        if "ERR_ABORTED" not in error.message:
            raise
        page.wait_for_load_state("networkidle")
        page.goto(f"{portal_url}/")


def passkeys(browser, portal_url: str) -> None:
    # -- A parent creates an account, is offered a passkey, takes it ----------------------------
    page = _fresh_page(browser)
    mine = Authenticator(page)
    email = f"cle.{uuid.uuid4().hex[:10]}@example.org"
    page.goto(f"{portal_url}/")
    _create_account(page, None, email)
    expect(page.get_by_text("Vous pouvez aussi vous connecter sans mot de passe")).to_be_visible()
    page.get_by_role("button", name="Se connecter et créer une clé d'accès").click()
    _keycloak_login_form(page, None)
    _passkey_first(page, "Se connecter avec une clé d'accès")
    page.screenshot(path=str(SCREENSHOTS / "keycloak-connexion-cle-fr-desktop.png"), full_page=True)
    _password(page, email)
    expect(page.get_by_role("heading", name="Créer une clé d'accès")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "keycloak-cle-d-acces-fr-desktop.png"), full_page=True)
    page.get_by_label("Nom de cette clé d'accès").fill("Téléphone de Julie")
    page.get_by_role("button", name="Créer la clé d'accès").click()
    page.wait_for_url(re.compile(r"/compte\?passkey=success"))
    expect(page.get_by_text("Votre clé d'accès est créée")).to_be_visible()
    expect(page.locator("[data-passkey] h3")).to_have_text(["Téléphone de Julie"])
    held, = mine.credentials()
    assert held["isResidentCredential"] is True

    # -- Log out, then in with the passkey, without typing a password: the email field's autofill
    # offers it (Chromium's virtual authenticator takes it at once, as a parent's tap would) --------
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{portal_url}/")
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url(f"{portal_url}/famille")
    page.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_text(email)).to_be_visible()

    # -- Another parent's passkey does not open this account ------------------------------------
    other = _fresh_page(browser, "en-CA")
    theirs = Authenticator(other)
    other_email = f"other.{uuid.uuid4().hex[:10]}@example.org"
    other.goto(f"{portal_url}/")
    _create_account_in_english(other, other_email)
    expect(other.get_by_role("button", name="Log in and create a passkey")).to_be_visible()
    _keycloak_login_form(other, "Log in")  # offered, not forced
    _passkey_first(other, "Sign in with a passkey")
    other.screenshot(path=str(SCREENSHOTS / "keycloak-connexion-cle-en-desktop.png"), full_page=True)
    _password(other, other_email)
    other.wait_for_url(f"{portal_url}/famille")
    # From « My account », in English.
    other.get_by_role("link", name="My account").click()
    expect(other.get_by_role("heading", name="Passkeys")).to_be_visible()
    expect(other.get_by_text("You do not have a passkey yet.")).to_be_visible()
    other.get_by_role("button", name="Add a passkey").click()
    _password(other, other_email)
    expect(other.get_by_role("heading", name="Create a passkey")).to_be_visible()
    other.screenshot(path=str(SCREENSHOTS / "keycloak-cle-d-acces-en-desktop.png"), full_page=True)
    other.get_by_label("Name of this passkey").fill("Laptop")
    other.get_by_role("button", name="Create the passkey").click()
    other.wait_for_url(re.compile(r"/compte\?passkey=success"))
    expect(other.get_by_text("Your passkey is created")).to_be_visible()
    other.get_by_role("button", name="Log out").click()
    other.wait_for_url(f"{portal_url}/")
    _sign_in_with_passkey(other, portal_url, theirs, "Log in", "Sign in with a passkey")
    other.get_by_role("link", name="My account").click()
    expect(other.get_by_text(other_email)).to_be_visible()
    expect(other.get_by_text(email)).to_have_count(0)

    # Their key, presented as this parent's (this parent's id as its user handle), is refused.
    their_key, = theirs.credentials()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{portal_url}/")
    mine.clear()
    parent_id = base64.b64decode(held["userHandle"]).decode()  # Keycloak's user id, as it registered it
    assert parent_id != base64.b64decode(their_key["userHandle"]).decode()
    mine.add(dict(their_key, userHandle=base64.b64encode(parent_id.encode()).decode()))
    _refused(page, portal_url, mine, "Se connecter", "Cette clé d'accès n'est pas reconnue")
    _home(page, portal_url)

    # -- A removed passkey no longer signs in -----------------------------------------------------
    _keycloak_login_form(page, "Se connecter")
    _password(page, email)  # the password stays the fallback
    page.wait_for_url(f"{portal_url}/famille")
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("button", name="Retirer la clé d'accès « Téléphone de Julie »").click()
    expect(page.get_by_text("La clé d'accès est retirée").first).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{portal_url}/")
    mine.add(held)
    _refused(page, portal_url, mine, "Se connecter", "Cette clé d'accès n'est pas reconnue")

    # -- Ending every session removes the passkeys too (in English) -------------------------------
    other.get_by_role("button", name="End all sessions").click()
    other.wait_for_url(f"{portal_url}/")
    _refused(other, portal_url, theirs, "Log in", "This passkey is not recognised")


def main(portal_url: str) -> None:
    with sync_playwright() as playwright:
        # WebAuthn needs a name, not an address: localhost is the loopback here.
        browser = launch(playwright, ["--host-resolver-rules=MAP localhost 127.0.0.1"])
        try:
            passkeys(browser, portal_url)
        except Exception:
            for number, context in enumerate(browser.contexts):
                for page in context.pages:
                    failure_picture(page, f"passkeys-{number}")
            raise
        finally:
            browser.close()


if __name__ == "__main__":
    main(sys.argv[1])
