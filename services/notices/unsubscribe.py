"""One-click unsubscribe tokens (RFC 8058): which parent, and which mail they got.

A token names the parent and the mail (the event it announced, or the digest), signed with
HMAC-SHA256 under a secret only notices holds, so that nobody can make one for another parent or
another mail. The mail's outbox row says which children and kind it was about; ids only travel in
the address, never an email, a name or a student number in clear.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

DIGEST = "digest"
# What ``sign`` makes, at most 400 characters (longer than any token made here): anything else is
# refused before any work.
SHAPE = re.compile(r"[A-Za-z0-9_-]{1,340}\.[A-Za-z0-9_-]{43}")


def sign(secret: bytes, parent_id: str, mail: str) -> str:
    """The token for ``parent_id``'s mail about event ``mail`` (or ``DIGEST``)."""
    payload = _encode(json.dumps([parent_id, mail], separators=(",", ":")).encode())
    return f"{payload}.{_encode(_mac(secret, payload))}"


def read(secret: bytes, token) -> tuple[str, str] | None:
    """``(parent_id, mail)`` of a token made by ``sign`` with the same secret, else None."""
    if not isinstance(token, str) or not SHAPE.fullmatch(token):
        return None
    payload, _, mac = token.partition(".")
    if not hmac.compare_digest(_encode(_mac(secret, payload)), mac):
        return None
    try:
        parent_id, mail = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, TypeError):
        return None
    return (parent_id, mail) if isinstance(parent_id, str) and isinstance(mail, str) else None


def _mac(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, b"unsubscribe:" + payload.encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
