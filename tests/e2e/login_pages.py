"""The browser side of the login theme's test (``test_login_theme.py``), in its own process like
``journey.py``: the portal realm's Keycloak pages in French and English, in Debian's Chromium.

    python -m tests.e2e.login_pages pages KEYCLOAK_URL PUBLIC_URL EMAIL_FR EMAIL_EN
    python -m tests.e2e.login_pages social KEYCLOAK_URL PUBLIC_URL ALIAS NAME

``pages``: the login page, a refused login, the logout confirmation, an error page, and the
two-factor set-up, password change and code Keycloak asks of the given accounts (password
``tests.gateway.stack.PASSWORD``) at their next login. ``social``: the provider's button shows.
"""
import base64
import hashlib
import hmac
import re
import struct
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import expect, sync_playwright

from tests.e2e.browser import AXE, DESKTOP, PHONE, SCREENSHOTS, launch
from tests.gateway.stack import PASSWORD

THEME = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "themes" / "portail" / "login"
# Words that belong to one language only: any of them outside an element marked with its own
# lang attribute (the link to the other language) means a text was left untranslated.
ENGLISH = {"the", "and", "your", "you", "sign", "in", "to", "of", "with", "or", "password", "email", "username",
           "account", "forgot", "register", "submit", "back", "log", "login", "logout", "please", "invalid", "new",
           "user", "sorry", "expired", "click", "here", "show", "hide", "want", "out", "do"}
FRENCH = {"le", "la", "les", "de", "du", "des", "votre", "vous", "avec", "mot", "passe", "courriel", "compte",
          "connexion", "connectez", "oublié", "créez", "retour", "et", "ou", "au", "se", "déconnecter",
          "afficher", "une", "est", "désolés", "cliquez", "ici"}
OTHER_WORDS = {"fr": ENGLISH, "en": FRENCH}


def messages(lang: str) -> dict[str, str]:
    text = (THEME / "messages" / f"messages_{lang}.properties").read_text(encoding="utf-8")
    return {k.strip(): v.strip().replace("''", "'") for k, v in
            (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))}


def shown_words(page) -> set[str]:
    """The words a reader (or a screen reader) meets, outside elements marked with a lang of their own
    and the two-factor key to type (random letters and digits: "G4DE" would read as French "de")."""
    text = page.evaluate("""() => {
        const copy = document.body.cloneNode(true);
        copy.querySelectorAll('[lang], script, style, template, #kc-totp-secret-key').forEach(e => e.remove());
        const labels = [...copy.querySelectorAll('[aria-label], [title], [placeholder], [alt], input[type=submit]')]
            .map(e => [e.getAttribute('aria-label'), e.getAttribute('title'), e.getAttribute('placeholder'),
                       e.getAttribute('alt'), e.type === 'submit' ? e.value : ''].join(' '));
        return [copy.textContent, document.title, ...labels].join(' ');
    }""")
    return {w.lower() for w in re.findall(r"[^\W\d_]+", text)}


def one_language(page, lang: str, where: str) -> None:
    assert page.evaluate("() => document.documentElement.lang") == lang, where
    foreign = shown_words(page) & OTHER_WORDS[lang]
    assert not foreign, f"{where} ({lang}) shows words of the other language: {sorted(foreign)}"


def check(page, name: str) -> None:
    """No axe violation of serious or critical impact, no sideways scrolling on a 360 px phone, and
    the page's picture at phone and desktop widths: docs/screenshots/<name>-<phone|desktop>.png."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {serious}"
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name} is {width} px wide at {viewport['width']} px"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def login_url(keycloak: str, public: str, lang: str) -> str:
    query = {"client_id": "portal-web", "redirect_uri": f"{public}/callback", "response_type": "code",
             "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256", "ui_locales": lang}
    return f"{keycloak}/realms/portal/protocol/openid-connect/auth?{urlencode(query)}"


def login_page(page, keycloak: str, public: str, lang: str) -> None:
    text = messages(lang)
    page.goto(login_url(keycloak, public, lang))
    expect(page.get_by_role("heading", level=1)).to_have_text(text["loginAccountTitle"])
    # The fields the web client's journey logs in with, by id and by label.
    expect(page.get_by_label(text["email"], exact=True)).to_have_id("username")
    expect(page.get_by_label(text["password"], exact=True)).to_have_id("password")
    expect(page.locator("#kc-login")).to_have_text(text["doLogIn"])
    # The portal's own flows, in the page's language, and the way back.
    for name, path in ((text["doForgotPassword"], "/mot-de-passe-oublie"), (text["doRegister"], "/creer-un-compte"),
                       (text["portailBack"], "/")):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_attribute("href", f"{public}{path}?lang={lang}")
    # No provider is turned on in the realm file: no social section.
    expect(page.locator("#kc-social-providers")).to_have_count(0)
    one_language(page, lang, "login page")
    check(page, f"keycloak-login-{lang}")

    # A refused login says so in the page's language, next to the fields.
    page.locator("#username").fill(f"personne.{uuid.uuid4().hex[:8]}@example.org")
    page.locator("#password").fill("Pas-le-bon-1")
    page.locator("#kc-login").click()
    expect(page.locator("#input-error-username")).to_have_text(text["invalidUserMessage"])
    one_language(page, lang, "refused login")


def other_pages(page, keycloak: str, public: str, lang: str) -> None:
    text = messages(lang)
    # Logging out without the application's token: Keycloak asks first.
    page.goto(f"{keycloak}/realms/portal/protocol/openid-connect/logout?ui_locales={lang}")
    expect(page.get_by_role("heading", level=1)).to_have_text(text["logoutConfirmTitle"])
    expect(page.get_by_text(text["logoutConfirmHeader"])).to_be_visible()
    one_language(page, lang, "logout confirmation")
    check(page, f"keycloak-deconnexion-{lang}")
    # A request Keycloak refuses (an unknown client): its error page, with the way back.
    page.goto(f"{keycloak}/realms/portal/protocol/openid-connect/auth?client_id=inconnu&response_type=code"
              f"&ui_locales={lang}&kc_locale={lang}")
    expect(page.get_by_role("heading", level=1)).to_have_text(text["errorTitle"])
    expect(page.get_by_role("link", name=text["portailBack"], exact=True)).to_have_attribute("href", f"{public}/?lang={lang}")
    one_language(page, lang, "error page")
    check(page, f"keycloak-erreur-{lang}")


def totp(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows for ``secret`` (RFC 6238: SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    digest = hmac.new(key, struct.pack(">Q", int((at or time.time()) // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def required_actions(page, keycloak: str, public: str, lang: str, email: str) -> None:
    """Keycloak's own pages at login: two-factor authentication set-up, a new password, then the
    code asked at the next login."""
    text = messages(lang)
    page.goto(login_url(keycloak, public, lang))
    page.locator("#username").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#kc-login").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(text["loginTotpTitle"])
    expect(page.get_by_text(text["loginTotpStep1"])).to_be_visible()
    one_language(page, lang, "two-factor set-up")
    check(page, f"keycloak-deux-facteurs-{lang}")
    # A wrong code is refused in the page's language; the key typed by hand sets it up.
    page.get_by_label(text["authenticatorCode"]).fill("000000")
    page.locator("#saveTOTPBtn").click()
    expect(page.get_by_text(text["invalidTotpMessage"])).to_be_visible()
    one_language(page, lang, "refused two-factor code")
    page.get_by_role("link", name=text["loginTotpUnableToScan"]).click()
    secret = page.locator("#kc-totp-secret-key").inner_text()
    one_language(page, lang, "two-factor set-up by key")
    page.get_by_label(text["authenticatorCode"]).fill(totp(secret))
    page.locator("#saveTOTPBtn").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(text["updatePasswordTitle"])
    page.get_by_label(text["passwordNew"], exact=True).fill(PASSWORD + "x")
    page.get_by_label(text["passwordConfirm"], exact=True).fill(PASSWORD + "y")
    page.locator("[type=submit]").first.click()
    expect(page.get_by_text(text["notMatchPasswordMessage"]).first).to_be_visible()
    one_language(page, lang, "password change")
    check(page, f"keycloak-mot-de-passe-{lang}")
    page.get_by_label(text["passwordNew"], exact=True).fill(PASSWORD + "x")
    page.get_by_label(text["passwordConfirm"], exact=True).fill(PASSWORD + "x")
    # Back to the web client, which need not run here: the browser lands on a stand-in.
    page.route(f"{public}/callback*", lambda route: route.fulfill(body="ok", content_type="text/plain"))
    page.locator("[type=submit]").first.click()
    page.wait_for_url(f"{public}/callback*")

    # The next login asks for the code of the app.
    page.context.clear_cookies()
    page.goto(login_url(keycloak, public, lang))
    page.locator("#username").fill(email)
    page.locator("#password").fill(PASSWORD + "x")
    page.locator("#kc-login").click()
    expect(page.get_by_label(text["loginOtpOneTime"])).to_be_visible()
    page.get_by_label(text["loginOtpOneTime"]).fill("000000")
    page.locator("#kc-login").click()
    expect(page.get_by_text(text["invalidTotpMessage"])).to_be_visible()
    one_language(page, lang, "two-factor code")
    check(page, f"keycloak-code-{lang}")


def social(page, keycloak: str, public: str, alias: str, name: str) -> None:
    for lang in ("fr", "en"):
        page.goto(login_url(keycloak, public, lang))
        expect(page.locator("#kc-social-providers")).to_be_visible()
        expect(page.get_by_text(messages(lang)["identity-provider-login-label"])).to_be_visible()
        expect(page.locator(f"#social-{alias}")).to_contain_text(name)
        one_language(page, lang, "login page with a social account")


def main(what: str, keycloak: str, public: str, *args: str) -> None:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            for lang, email in zip(("fr", "en"), args if what == "pages" else ("", "")):
                context = browser.new_context(locale=f"{lang}-CA", viewport=DESKTOP)
                page = context.new_page()
                page.set_default_timeout(15_000)
                if what == "social":
                    social(page, keycloak, public, *args)
                    break
                login_page(page, keycloak, public, lang)
                other_pages(page, keycloak, public, lang)
                required_actions(page, keycloak, public, lang, email)
                context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
