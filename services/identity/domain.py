"""Identity's rules: the password rule, verification codes and tickets, and a parent's account
stream (verified once, email changes, closed).

Pure Python: the service hands in the clock and what it read, and stores what comes out. The
plaintext code and ticket leave this module only towards the parent (by mail, in the answer);
what is stored is their hash.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import Envelope
from servicekit.aggregate import Aggregate
from servicekit.errors import Conflict, DomainError, TooManyAttempts

FLOWS = ("register", "reset", "claim")

# --- the password rule -------------------------------------------------------------------------
# The guides disagree (8 to 16 characters with 3 of 4 classes; 8+ with upper, lower and a digit
# or symbol): we keep 8+ characters and 3 of the 4 classes, and never cap a passphrase at 16.
# This is the one place the rule lives; the realm's password policy is derived from it and a
# test checks that deploy/keycloak/portal-realm.json says the same.

# Character classes by Unicode category, so that "é" is a lower-case letter like "e"; Keycloak
# checks the same classes with the Java regex of each entry.
CLASSES = {
    "lower": ("Ll", r"\p{Ll}"),
    "upper": ("Lu", r"\p{Lu}"),
    "digit": ("Nd", r"\p{Nd}"),
    "symbol": (None, r"[^\p{L}\p{Nd}]"),
}


@dataclass(frozen=True)
class PasswordRule:
    min_length: int = 8
    max_length: int = 128  # a bound against abuse, far above any passphrase
    min_classes: int = 3

    def unmet(self, password: str, email: str | None = None) -> list[tuple[str, dict]]:
        """Each rule ``password`` breaks, as (code, params), in the order a parent fixes them."""
        problems = []
        if len(password) < self.min_length:
            problems.append(("password_too_short", {"min": self.min_length}))
        if len(password) > self.max_length:
            problems.append(("password_too_long", {"max": self.max_length}))
        present = classes_of(password)
        if len(present) < self.min_classes:
            problems.append(("password_too_simple", {
                "min_classes": self.min_classes, "missing": [c for c in CLASSES if c not in present]}))
        if email and password.casefold() == email.casefold():
            problems.append(("password_is_email", {}))
        return problems

    def check(self, password: str, confirmation: str, email: str | None = None) -> None:
        """Raise the first unmet rule; then a confirmation that differs."""
        for code, params in self.unmet(password, email):
            raise DomainError(code, field="password", params=params)
        if not hmac.compare_digest(password.encode(), confirmation.encode()):
            raise DomainError("password_mismatch", field="password_confirmation")

    def describe(self) -> dict:
        """The rule as the web client shows it, before the parent types."""
        return {"min_length": self.min_length, "max_length": self.max_length,
                "min_classes": self.min_classes, "classes": list(CLASSES)}

    def keycloak_policy(self) -> str:
        """The same rule as a Keycloak password policy (the realm file carries it)."""
        lookaheads = {name: f"(?=.*{java})" for name, (_, java) in CLASSES.items()}
        names = list(CLASSES)
        combos = _combinations(names, self.min_classes)
        pattern = "(?s)^(?:" + "|".join("".join(lookaheads[n] for n in combo) for combo in combos) + ").*$"
        return (f"length({self.min_length}) and maxLength({self.max_length}) and notEmail"
                f" and regexPattern({pattern})")


def _combinations(names: list[str], k: int) -> list[tuple[str, ...]]:
    if k == 0:
        return [()]
    return [(names[i], *rest) for i in range(len(names)) for rest in _combinations(names[i + 1:], k - 1)]


def classes_of(password: str) -> set[str]:
    present = set()
    for char in password:
        category = unicodedata.category(char)
        if category == "Ll":
            present.add("lower")
        elif category == "Lu":
            present.add("upper")
        elif category == "Nd":
            present.add("digit")
        elif not category.startswith("L"):
            present.add("symbol")
    return present


PASSWORD_RULE = PasswordRule()


# --- verification codes ----------------------------------------------------------
CODE_LIFETIME = timedelta(minutes=15)
CODE_TRIES = 5
TICKET_LIFETIME = timedelta(minutes=10)
# Requests for a code: per email and per client address, in a sliding window.
REQUESTS_WINDOW = timedelta(hours=1)
REQUESTS_PER_EMAIL = 5
REQUESTS_PER_ADDRESS = 20

_HASH_ITERATIONS = 20_000  # 6 digits are few: slow each guess at a stolen hash a little


def normalise_email(email: str) -> str:
    return email.strip().lower()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def new_salt() -> bytes:
    return secrets.token_bytes(16)


def hash_code(code: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt, _HASH_ITERATIONS)


def new_ticket() -> str:
    return secrets.token_urlsafe(32)


def hash_ticket(ticket: str) -> bytes:
    # A ticket has 256 random bits: a plain hash cannot be reversed.
    return hashlib.sha256(ticket.encode()).digest()


def rate_key(kind: str, value: str) -> str:
    """The key a request is counted under; an email is kept only as its hash."""
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


@dataclass(frozen=True)
class Requests:
    """The requests for a code counted under one key within the window."""

    count: int
    oldest: datetime | None


def check_rate(per_email: Requests, per_address: Requests, now: datetime) -> None:
    """Refuse a new code when the email or the client address asked too often lately; say when
    the oldest request of the exhausted key leaves the window."""
    exhausted = [r for r, limit in ((per_email, REQUESTS_PER_EMAIL), (per_address, REQUESTS_PER_ADDRESS))
                 if r.count >= limit]
    if exhausted:
        retry_after = max(REQUESTS_WINDOW - (now - r.oldest) if r.oldest is not None else REQUESTS_WINDOW
                          for r in exhausted)
        raise TooManyAttempts("too_many_code_requests",
                              params={"retry_after": max(int(retry_after.total_seconds()), 1)})


@dataclass
class PendingCode:
    """The one code in force for (flow, email), as stored."""

    code_hash: bytes
    salt: bytes
    expires_at: datetime
    failed_tries: int
    used: bool


def check_code(pending: PendingCode | None, code: str, now: datetime) -> bool:
    """Whether ``code`` proves the email; raises when the code can no longer be tried.

    Returns False for a wrong code (the caller counts the try). A code sent to another email or
    for another flow is simply not the code in force here.
    """
    if pending is None:
        raise DomainError("code_invalid", field="code")
    if pending.used:
        raise DomainError("code_used", field="code")
    if pending.failed_tries >= CODE_TRIES:
        raise TooManyAttempts("code_tries_exhausted", field="code", params={"retry_after": 0})
    if now >= pending.expires_at:
        raise DomainError("code_expired", field="code")
    return hmac.compare_digest(hash_code(code, pending.salt), pending.code_hash)


def wrong_code(failed_tries: int) -> DomainError:
    """The answer to a wrong code, saying how many tries are left (after ``failed_tries``)."""
    left = CODE_TRIES - failed_tries
    if left <= 0:
        return TooManyAttempts("code_tries_exhausted", field="code", params={"retry_after": 0})
    return DomainError("code_invalid", field="code", params={"tries_left": left})


@dataclass
class Ticket:
    flow: str
    email: str
    parent_id: str | None
    expires_at: datetime
    used: bool


def check_ticket(ticket: Ticket | None, flow: str, now: datetime) -> Ticket:
    """The ticket if it may still be used for ``flow``; a used, expired or foreign one is refused
    the same way (a replayed request changes nothing)."""
    if ticket is None or ticket.flow != flow or ticket.used or now >= ticket.expires_at:
        raise DomainError("ticket_invalid", field="ticket")
    return ticket


# --- the parent's account stream -------------------------------------------------------------


class ParentAccount(Aggregate):
    """One parent's account as identity's events tell it. Its invariants: ``ParentVerified``
    once per account, an email change only after it, nothing after ``ParentAccountClosed``."""

    source = "identity"

    def __init__(self, parent_id: str):
        super().__init__(parent_id)
        self.email: str | None = None
        self.closed = False

    @property
    def verified(self) -> bool:
        return self.email is not None

    def apply(self, event: Envelope) -> None:
        if event.type == "ParentVerified":
            self.email = event.data["email"]
        elif event.type == "ParentEmailChanged":
            self.email = event.data["new_email"]
        elif event.type == "ParentAccountClosed":
            self.closed = True

    def prove_email(self, email: str, locale: str, correlation_id: str) -> Envelope | None:
        """The parent proved ``email`` is theirs: first time verified, or a changed email, or
        nothing new (the same email again)."""
        if self.closed:
            raise Conflict("account_closed")
        if not self.verified:
            return self.record("ParentVerified", {"parent_id": self.key, "email": email, "locale": locale},
                                correlation_id)
        if self.email == email:
            return None
        return self.record("ParentEmailChanged",
                            {"parent_id": self.key, "old_email": self.email, "new_email": email}, correlation_id)

    def close(self, correlation_id: str) -> Envelope | None:
        if self.closed:
            return None
        return self.record("ParentAccountClosed", {"parent_id": self.key}, correlation_id)
