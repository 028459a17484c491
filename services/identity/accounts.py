"""Parents' accounts in Keycloak, through its admin API (python-keycloak).

The identity service signs in as its own confidential client ``portal-identity`` of the
``portal`` realm, whose service account holds only the realm-management roles it needs
(view-users, query-users, manage-users). This module speaks in the domain's words and turns
Keycloak's refusals into the service's errors.
"""
from __future__ import annotations

import base64
import functools
import json
import os
from datetime import datetime, timezone

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError, KeycloakError
from nameko.extensions import DependencyProvider
from requests import RequestException

from servicekit.errors import Conflict, DomainError, Unavailable

REALM = "portal"
CLIENT_ID = "portal-identity"
CONFIGURE_TOTP = "CONFIGURE_TOTP"
# Keycloak's credential type of a passkey (WebAuthn Passwordless: a discoverable key, verified user).
PASSKEY = "webauthn-passwordless"
EVENTS_PAGE = 100


def _reaching_keycloak(method):
    """Keycloak out of reach (down, restarting, behind a failing proxy) is ``sign_in_unavailable``:
    the parent reads "try again in a few minutes", and no error is logged as a bug."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (KeycloakConnectionError, RequestException):
            raise Unavailable("sign_in_unavailable") from None
        except KeycloakError as exc:
            if exc.response_code in (502, 503, 504):
                raise Unavailable("sign_in_unavailable") from None
            raise

    return call


class Accounts:
    def __init__(self, server_url: str, client_secret: str, realm: str = REALM):
        self.admin = KeycloakAdmin(connection=KeycloakOpenIDConnection(
            server_url=server_url, realm_name=realm, user_realm_name=realm, client_id=CLIENT_ID,
            client_secret_key=client_secret, grant_type="client_credentials", timeout=10))

    @_reaching_keycloak
    def create(self, email: str, password: str, locale: str) -> str:
        """A new enabled account whose email is proven; its Keycloak id is the parent id."""
        try:
            return self.admin.create_user({
                "username": email, "email": email, "emailVerified": True, "enabled": True,
                "attributes": {"locale": [locale]},
                "credentials": [{"type": "password", "value": password, "temporary": False}],
            })
        except KeycloakError as exc:
            raise _refusal(exc, "account_exists") from None

    @_reaching_keycloak
    def get(self, parent_id: str) -> dict | None:
        try:
            return self.admin.get_user(parent_id)
        except KeycloakError as exc:
            if exc.response_code == 404:
                return None
            raise

    @_reaching_keycloak
    def find(self, email: str) -> dict | None:
        found = self.admin.get_users({"email": email, "exact": True})
        return found[0] if found else None

    @_reaching_keycloak
    def set_password(self, parent_id: str, password: str) -> None:
        try:
            self.admin.set_user_password(parent_id, password, temporary=False)
        except KeycloakError as exc:
            raise _refusal(exc, "account_exists") from None

    @_reaching_keycloak
    def set_email(self, parent_id: str, email: str) -> None:
        """The proven school email becomes the account's login email."""
        try:
            self.admin.update_user(parent_id, {"email": email, "emailVerified": True})
        except KeycloakError as exc:
            raise _refusal(exc, "email_in_use") from None

    @_reaching_keycloak
    def totp_enabled(self, parent_id: str) -> bool:
        return any(c.get("type") == "otp" for c in self.admin.get_credentials(parent_id))

    @_reaching_keycloak
    def set_two_factor(self, parent_id: str, user: dict, enabled: bool) -> None:
        """On: Keycloak asks for an authenticator app at the next login (its own TOTP setup).
        Off: the parent's TOTP credentials are removed, and a pending setup is cancelled."""
        actions = [a for a in user.get("requiredActions", []) if a != CONFIGURE_TOTP]
        if enabled:
            if not self.totp_enabled(parent_id):
                actions.append(CONFIGURE_TOTP)
        else:
            for credential in self.admin.get_credentials(parent_id):
                if credential.get("type") == "otp":
                    self.admin.delete_credential(parent_id, credential["id"])
        self.admin.update_user(parent_id, {"requiredActions": actions})

    @_reaching_keycloak
    def passkeys(self, parent_id: str) -> list[dict]:
        """The parent's passkeys: their label and dates only, never their key material. A passkey's
        last use is its newest login event (kept 90 days: older, or never used, is ``None``)."""
        keys = [c for c in self.admin.get_credentials(parent_id) if c.get("type") == PASSKEY]
        used = self._passkey_logins(parent_id, {_webauthn_id(c) for c in keys}) if keys else {}
        return [{
            "passkey_id": c["id"],
            "label": c.get("userLabel") or None,
            "created_at": _instant(c.get("createdDate")),
            "last_used_at": _instant(used.get(_webauthn_id(c))),
        } for c in keys]

    def _passkey_logins(self, parent_id: str, webauthn_ids: set[str]) -> dict[str, int]:
        """When each passkey (WebAuthn credential id) last signed the parent in: Keycloak's LOGIN
        events, newest first, name the credential a passkey login used. Read page by page until
        every passkey is found or the events run out."""
        last: dict[str, int] = {}
        first = 0
        while webauthn_ids - last.keys():
            page = self.admin.get_events({"user": parent_id, "type": "LOGIN", "first": first, "max": EVENTS_PAGE})
            for event in page:
                details = event.get("details") or {}
                if details.get("credential_type") == PASSKEY:
                    last.setdefault(details.get("public_key_credential_id"), event["time"])
            if len(page) < EVENTS_PAGE:
                break
            first += EVENTS_PAGE
        return last

    @_reaching_keycloak
    def delete_credential(self, parent_id: str, credential_id: str) -> None:
        try:
            self.admin.delete_credential(parent_id, credential_id)
        except KeycloakError as exc:
            if exc.response_code != 404:
                raise

    @_reaching_keycloak
    def sessions(self, parent_id: str) -> list[dict]:
        return [{
            "session_id": s["id"],
            "ip_address": s.get("ipAddress"),
            "started_at": _instant(s.get("start")),
            "last_access_at": _instant(s.get("lastAccess")),
            "clients": sorted((s.get("clients") or {}).values()),
        } for s in self.admin.get_sessions(parent_id)]

    @_reaching_keycloak
    def end_session(self, session_id: str) -> None:
        response = self.admin.connection.raw_delete(
            f"admin/realms/{self.admin.connection.realm_name}/sessions/{session_id}")
        if response.status_code not in (204, 404):
            response.raise_for_status()

    @_reaching_keycloak
    def end_all_sessions(self, parent_id: str) -> None:
        self.admin.user_logout(parent_id)

    @_reaching_keycloak
    def delete(self, parent_id: str) -> None:
        try:
            self.admin.delete_user(parent_id)
        except KeycloakError as exc:
            if exc.response_code != 404:
                raise


def locale_of(user: dict) -> str:
    locale = ((user.get("attributes") or {}).get("locale") or ["fr"])[0]
    return locale if locale in ("fr", "en") else "fr"


def _webauthn_id(credential: dict) -> str:
    """A passkey's WebAuthn credential id as login events write it: Keycloak stores it in standard
    base64 in the credential's data and writes it in base64url without padding in the event."""
    stored = json.loads(credential.get("credentialData") or "{}").get("credentialId", "")
    return base64.urlsafe_b64encode(base64.b64decode(stored)).rstrip(b"=").decode()


def _instant(millis: int | None) -> str | None:
    return datetime.fromtimestamp(millis / 1000, timezone.utc).isoformat() if millis else None


def _refusal(exc: KeycloakError, conflict_code: str) -> Exception:
    """Keycloak's 409 is ours to name; its 400 is a password its policy refuses (ours is
    checked first, so that is a mismatch between the two to fix in the realm file)."""
    if exc.response_code == 409:
        return Conflict(conflict_code)
    if exc.response_code == 400:
        return DomainError("password_refused", field="password")
    return exc


class KeycloakAccounts(DependencyProvider):
    """``self.accounts``: one admin client per service process, with its token kept fresh."""

    def setup(self):
        config = self.container.config
        self.accounts = Accounts(
            config.get("KEYCLOAK_URL") or os.environ["PORTAL_KEYCLOAK_URL"],
            config.get("IDENTITY_CLIENT_SECRET") or os.environ["PORTAL_IDENTITY_CLIENT_SECRET"],
        )

    def get_dependency(self, worker_ctx):
        return self.accounts
