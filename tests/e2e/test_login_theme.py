"""The portal's Keycloak login theme (deploy/keycloak/themes/portail) in Chromium, on the local
Keycloak that scripts/servers.sh starts (the browser side is ``login_pages.py``)."""
import re
import subprocess
import sys
import uuid

import pytest
from keycloak import KeycloakAdmin

from tests.e2e.conftest import REPO
from tests.gateway.stack import PASSWORD

THEME = REPO / "deploy" / "keycloak" / "themes" / "portail" / "login"


def _browser(*args: str) -> None:
    run = subprocess.run([sys.executable, "-m", "tests.e2e.login_pages", *args], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-6000:]}"


@pytest.fixture(scope="module")
def admin(portal_env):
    return KeycloakAdmin(server_url=portal_env["PORTAL_KEYCLOAK_URL"], username=portal_env["PORTAL_KEYCLOAK_ADMIN"],
                         password=portal_env["PORTAL_KEYCLOAK_ADMIN_PASSWORD"], realm_name="portal",
                         user_realm_name="master")


def test_the_login_pages_read_in_french_and_in_english(portal_env, admin):
    """Login page with the portal's links, a refused login, logout confirmation, an error page,
    two-factor set-up and password change: one language each, no serious axe violation, no
    sideways scrolling at 360 px; screenshots in docs/screenshots/keycloak-*."""
    emails = [f"theme.{lang}.{uuid.uuid4().hex[:8]}@example.org" for lang in ("fr", "en")]
    ids = [admin.create_user({"username": e, "email": e, "enabled": True, "emailVerified": True,
                              "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
                              "requiredActions": ["CONFIGURE_TOTP", "UPDATE_PASSWORD"]}) for e in emails]
    try:
        _browser("pages", portal_env["PORTAL_KEYCLOAK_URL"], portal_env["PORTAL_PUBLIC_URL"], *emails)
    finally:
        for user_id in ids:
            admin.delete_user(user_id)


def test_a_social_account_shows_only_once_its_provider_is_turned_on(portal_env, admin):
    alias = f"theme-{uuid.uuid4().hex[:6]}"
    admin.create_idp({"alias": alias, "displayName": "Acme", "providerId": "oidc", "enabled": True,
                      "config": {"clientId": "portal", "clientSecret": "unused", "clientAuthMethod": "client_secret_post",
                                 "authorizationUrl": "https://idp.example.org/auth", "tokenUrl": "https://idp.example.org/token"}})
    try:
        _browser("social", portal_env["PORTAL_KEYCLOAK_URL"], portal_env["PORTAL_PUBLIC_URL"], alias, "Acme")
    finally:
        admin.delete_idp(alias)


def _keys(lang: str) -> set[str]:
    text = (THEME / "messages" / f"messages_{lang}.properties").read_text(encoding="utf-8")
    return {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line and not line.startswith("#")}


def test_every_message_of_the_theme_is_in_both_languages():
    assert _keys("fr") == _keys("en")
    used = set()
    for template in THEME.glob("*.ftl"):
        used |= set(re.findall(r"""msg\(["'](portail\w+)["']""", template.read_text(encoding="utf-8")))
    assert used <= _keys("fr"), f"messages missing from the theme: {sorted(used - _keys('fr'))}"
