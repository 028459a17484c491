"""A passkey without a browser, for the login surge and for the tests that sign a parent in with one.

``Passkey`` is a software authenticator: an ES256 key pair and a credential id, as a phone's
platform authenticator keeps a discoverable key. ``credential()`` is the passkey as Keycloak
stores a registered one (the admin API takes it as an import would); ``answer(page, ...)`` reads
the challenge from Keycloak's login page and gives the fields that the page's script posts after
``navigator.credentials.get`` (client data, authenticator data with the user present and verified,
the signature, the user handle). Keycloak then checks the signature as it checks a browser's.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

PASSKEY = "webauthn-passwordless"  # Keycloak's credential type of a passkey
USER_PRESENT, USER_VERIFIED = 0x01, 0x04  # authenticator data flags (WebAuthn §6.1)
# The login page (deploy/keycloak/themes/portail/login/passkeys.ftl): the passkey form's address
# and the arguments its script hands to navigator.credentials.get.
ACTION = re.compile(r'<form id="webauth" action="([^"]+)"')
CHALLENGE = re.compile(r'challenge : "([^"]+)"')
RP_ID = re.compile(r'rpId : "([^"]+)"')


class NoPasskeyForm(AssertionError):
    """The page is not a login page that offers passkeys (a refusal, another step)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Passkey:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)

    @property
    def event_id(self) -> str:
        """The credential id as Keycloak names it in a login event (``public_key_credential_id``)."""
        return b64url(self.credential_id)

    def credential(self, label: str) -> dict:
        """The passkey as Keycloak stores a registered one: an entry of a user's ``credentials``."""
        point = self.key.public_key().public_numbers()
        # COSE_Key (RFC 9053) in canonical CBOR: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
        cose = (b"\xa5\x01\x02\x03\x26\x20\x01\x21\x58\x20" + point.x.to_bytes(32, "big")
                + b"\x22\x58\x20" + point.y.to_bytes(32, "big"))
        data = {"aaguid": "00000000-0000-0000-0000-000000000000",
                "credentialId": base64.b64encode(self.credential_id).decode(), "counter": 0,
                "credentialPublicKey": base64.b64encode(cose).decode(), "attestationStatementFormat": "none",
                "transports": ["internal"]}
        return {"type": PASSKEY, "userLabel": label, "credentialData": json.dumps(data), "secretData": "{}"}

    def answer(self, page: str, user_id: str, origin: str, verified: bool = True) -> tuple[str, dict]:
        """The login page's passkey form: where it posts, and what, once the device has checked the
        parent (``verified``: else only their presence, as a bare security key). ``origin`` is the
        page's (scheme, host and port Keycloak is reached at). The counter stays 0, as synced
        passkeys send it."""
        action, challenge, rp_id = ACTION.search(page), CHALLENGE.search(page), RP_ID.search(page)
        if not (action and challenge and rp_id):
            raise NoPasskeyForm(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[:400])
        client_data = json.dumps({"type": "webauthn.get", "challenge": challenge.group(1), "origin": origin,
                                  "crossOrigin": False}, separators=(",", ":")).encode()
        authenticator_data = (hashlib.sha256(rp_id.group(1).encode()).digest()
                              + bytes([USER_PRESENT | (USER_VERIFIED if verified else 0)]) + (0).to_bytes(4, "big"))
        signature = self.key.sign(authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return html.unescape(action.group(1)), {
            "clientDataJSON": b64url(client_data), "authenticatorData": b64url(authenticator_data),
            "signature": b64url(signature), "credentialId": self.event_id,
            "userHandle": b64url(user_id.encode()), "error": ""}
