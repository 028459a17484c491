"""The portal realm as Keycloak imported it from deploy/keycloak/portal-realm.json."""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def realm(keycloak_admin):
    return keycloak_admin.get_realm("portal")


def client(keycloak_admin, client_id):
    return keycloak_admin.get_client(keycloak_admin.get_client_id(client_id))


def test_french_first_then_english(realm):
    assert realm["internationalizationEnabled"] is True
    assert (realm["defaultLocale"], sorted(realm["supportedLocales"])) == ("fr", ["en", "fr"])


def test_the_web_client_uses_the_code_flow_with_pkce_only(keycloak_admin):
    web = client(keycloak_admin, "portal-web")
    assert web["publicClient"] is True and web["standardFlowEnabled"] is True
    assert web["implicitFlowEnabled"] is False and web["directAccessGrantsEnabled"] is False
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    # Browser tests may add their own port; the realm file's two are there.
    assert {"http://127.0.0.1:8000/*", "http://localhost:8000/*"} <= set(web["redirectUris"])
    audience, = [m for m in web["protocolMappers"] if m["protocolMapper"] == "oidc-audience-mapper"]
    assert audience["config"]["included.custom.audience"] == "portal-api"


def test_the_identity_client_holds_only_the_user_admin_roles_and_reads_logins(keycloak_admin, portal_env):
    identity = client(keycloak_admin, "portal-identity")
    assert identity["publicClient"] is False and identity["serviceAccountsEnabled"] is True
    assert identity["standardFlowEnabled"] is False and identity["directAccessGrantsEnabled"] is False
    assert keycloak_admin.get_client_secrets(identity["id"])["value"] == portal_env["PORTAL_IDENTITY_CLIENT_SECRET"]
    account = keycloak_admin.get_client_service_account_user(identity["id"])
    management = keycloak_admin.get_client_id("realm-management")
    roles = {r["name"] for r in keycloak_admin.get_client_roles_of_user(account["id"], management)}
    # view-events: a passkey's last use is read from the LOGIN events (services/identity/accounts.py).
    assert roles == {"manage-users", "view-users", "query-users", "view-events"}
    assert keycloak_admin.get_realm_roles_of_user(account["id"]) == [] or all(
        r["name"].startswith("default-roles-") for r in keycloak_admin.get_realm_roles_of_user(account["id"]))


def test_logins_are_protected_and_sessions_end_when_idle(realm):
    assert realm["bruteForceProtected"] is True and realm["failureFactor"] == 5
    assert realm["ssoSessionIdleTimeout"] == 1800 and realm["ssoSessionMaxLifespan"] == 36000
    assert realm["accessTokenLifespan"] == 300
    assert realm["registrationAllowed"] is False and realm["resetPasswordAllowed"] is False


def test_only_successful_logins_are_kept_and_for_90_days(realm):
    assert realm["eventsEnabled"] is True and realm["enabledEventTypes"] == ["LOGIN"]
    assert realm["eventsExpiration"] == 90 * 24 * 3600
    assert realm.get("adminEventsEnabled") is not True


def test_the_realm_mails_through_the_configured_server(realm, portal_env):
    assert realm["smtpServer"]["host"] == portal_env["PORTAL_SMTP_HOST"]
    assert realm["smtpServer"]["port"] == portal_env["PORTAL_SMTP_PORT"]


def test_social_providers_are_present_and_off_until_configured(keycloak_admin, portal_env):
    providers = {p["alias"]: p for p in keycloak_admin.get_idps()}
    for alias in ("google", "facebook", "microsoft", "linkedin"):
        configured = bool(portal_env.get(f"PORTAL_{alias.upper()}_CLIENT_SECRET"))
        assert providers[alias]["enabled"] is configured


@pytest.mark.parametrize("secret, expected", [("", ""), ("s3cret", "true")])
def test_a_provider_is_enabled_when_its_secret_is_set(portal_env, secret, expected):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_GOOGLE_")}
    environment["PORTAL_GOOGLE_CLIENT_SECRET"] = secret
    printed = subprocess.run(["bash", str(REPO / "scripts" / "env.sh"), "--print"], env=environment,
                             capture_output=True, text=True, check=True, timeout=60).stdout
    values = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
    assert values.get("PORTAL_GOOGLE_LOGIN_ENABLED", "") == expected
