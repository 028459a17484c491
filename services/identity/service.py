"""The identity service: parents' accounts in Keycloak, created and recovered by an emailed code.

Keycloak owns credentials, logins, sessions and social login; this service runs the flows that
Keycloak does not have in this shape and tells the other services, by events, who
the verified parents are: ``ParentVerified`` once per account, ``ParentEmailChanged``,
``ParentAccountClosed``.

RPC API (the gateway exposes it over HTTP; every error is a ``servicekit.errors`` code; a
missing argument is the ``required`` error of its field, like any other bad input):

``request_code(flow, email, locale, client_address, parent_id=None)``
    flow is ``register``, ``reset`` or ``claim`` (claim: the signed-in ``parent_id`` too).
    Mails a 6-digit code valid 15 minutes; a new code cancels the previous one. The answer is
    the same whether or not the email has an account: ``{"status": "code_sent",
    "expires_in_seconds": 900, "previous_codes_cancelled": true}``. Rate limited per email and
    per client address (``too_many_code_requests``, ``retry_after``).
``verify_code(flow, email, code)`` → ``{"ticket", "expires_in_seconds"}``
    A short-lived, single-use ticket for the flow's next step. Five wrong tries, then
    ``code_tries_exhausted``; also ``code_invalid`` (with ``tries_left``), ``code_expired``,
    ``code_used``.
``register(ticket, password, password_confirmation, locale)`` → ``{"parent_id", "email"}``
``reset_password(ticket, password, password_confirmation)`` → ``{"status": "password_changed"}``
    Ends the parent's sessions.
``claim_school_email(parent_id, ticket=None)`` → ``{"parent_id", "email", "school_email_verified"}``
    For a social account: without a ticket the account's own verified email is the school
    email; with a ``claim`` ticket the proven email becomes the account's email.
``me(parent_id)`` → ``{"parent_id", "email", "school_email_verified", "locale", "totp_enabled"}``
``set_two_factor(parent_id, enabled)`` → ``{"totp_enabled", "setup_pending"}``
    On: Keycloak asks for an authenticator app at the next login. Off: removes it.
``sessions(parent_id)`` → ``[{"session_id", "ip_address", "started_at", "last_access_at", "clients"}]``
``end_session(parent_id, session_id)`` → ``{"ended": session_id}``
``passkeys(parent_id)`` → ``[{"passkey_id", "label", "created_at", "last_used_at"}]`` (``passkeys.py``)
    Never key material. Keycloak registers them (``kc_action=webauthn-register-passwordless``).
``remove_passkey(parent_id, passkey_id)`` → ``{"removed": passkey_id}``; else ``passkey_not_found``.
``end_all_sessions(parent_id)`` → ``{"status": "ended", "passkeys_removed"}``
    Every session ends and every passkey is removed; the password stays.
``export(parent_id)`` → ``me``, ``passkeys`` and ``events`` (what its store holds about the
    parent): identity's part of "download my data".
``close_account(parent_id, confirmation)`` → ``{"status": "closed"}``
    ``confirmation`` is the account's email typed again; Keycloak deletes the user and every
    service forgets the parent on ``ParentAccountClosed``.
``password_rules()`` → the rule the web client shows before the parent types.
"""
from __future__ import annotations

from datetime import datetime, timezone

from prometheus_client import Counter
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from servicekit import errors, store
from servicekit.children import ParentSchema
from servicekit.errors import DomainError, NotFound
from servicekit.relay import Relay
from servicekit.rpc import RpcProxy, rpc
from servicekit.service import Service

from . import domain, projections
from .accounts import KeycloakAccounts, locale_of
from .passkeys import Passkeys
from .schemas import (
    ClaimSchema, CloseSchema, NewPasswordSchema, RequestCodeSchema, SessionSchema, TwoFactorSchema, VerifyCodeSchema,
)
from .tables import code_requests, parents, tickets, verification_codes

commands = store.Commands(projections.apply)

# Registered once, when the module is imported; a rise is someone guessing codes.
CODE_FAILURES = Counter("portal_identity_code_failures_total", "Verification codes refused, by flow and reason.",
                        ["flow", "reason"])


class IdentityService(Service, Passkeys):
    name = "identity"

    relay = Relay()
    accounts = KeycloakAccounts()
    notices = RpcProxy("notices")

    # -- codes ----------------------------------------------------------------------------------

    @rpc
    def request_code(self, flow=None, email=None, locale="fr", client_address=None, parent_id=None):
        """Mail a verification code for ``flow`` to ``email``. Never looks the email up: the answer
        and the time it takes are the same for every email."""
        request = errors.load(RequestCodeSchema(), {
            "flow": flow, "email": _stripped(email), "locale": locale, "client_address": client_address,
            "parent_id": parent_id})
        if request["flow"] == "claim" and request["parent_id"] is None:
            raise DomainError("required", field="parent_id")
        email = domain.normalise_email(request["email"])
        claimant = str(request["parent_id"]) if request["flow"] == "claim" else None
        keys = [domain.rate_key("email", email), domain.rate_key("address", request["client_address"])]
        code, salt, now = domain.new_code(), domain.new_salt(), _now()
        with self.db.begin() as conn:
            # Counted under a lock per key, so that parallel requests cannot slip past the limit.
            for key in sorted(keys):
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})
            since = now - domain.REQUESTS_WINDOW
            # What no longer counts or serves goes, so that these tables stay small.
            conn.execute(delete(code_requests).where(code_requests.c.at < since))
            conn.execute(delete(verification_codes).where(verification_codes.c.expires_at < since))
            conn.execute(delete(tickets).where(tickets.c.expires_at < since))
            counted = {row.key: row for row in conn.execute(
                select(code_requests.c.key, func.count().label("requests"),
                       func.min(code_requests.c.at).label("oldest"))
                .where(code_requests.c.key.in_(keys)).group_by(code_requests.c.key))}
            domain.check_rate(*(domain.Requests(counted[k].requests, counted[k].oldest) if k in counted
                                else domain.Requests(0, None) for k in keys), now)
            conn.execute(code_requests.insert(), [{"key": k, "at": now} for k in keys])
            # The new code replaces the row of the one in force: the previous code stops working.
            values = {"parent_id": claimant, "code_hash": domain.hash_code(code, salt), "salt": salt,
                      "expires_at": now + domain.CODE_LIFETIME, "failed_tries": 0, "used": False, "created_at": now}
            statement = insert(verification_codes).values(flow=request["flow"], email=email, **values)
            conn.execute(statement.on_conflict_do_update(index_elements=["flow", "email"], set_=values))
        self.notices.send_verification_code(email, code, request["locale"], request["flow"])
        return {"status": "code_sent", "expires_in_seconds": int(domain.CODE_LIFETIME.total_seconds()),
                "previous_codes_cancelled": True}

    @rpc
    def verify_code(self, flow=None, email=None, code=None):
        """Trade the emailed code for a single-use ticket to the flow's next step."""
        request = errors.load(VerifyCodeSchema(), {"flow": flow, "email": _stripped(email), "code": code})
        email, now = domain.normalise_email(request["email"]), _now()
        ticket = domain.new_ticket()
        with self.db.begin() as conn:
            row = conn.execute(
                select(verification_codes).where(verification_codes.c.flow == request["flow"],
                                                 verification_codes.c.email == email).with_for_update()
            ).first()
            pending = None if row is None else domain.PendingCode(
                row.code_hash, row.salt, row.expires_at, row.failed_tries, row.used)
            try:
                proven = domain.check_code(pending, request["code"], now)
            except DomainError as refused:
                CODE_FAILURES.labels(request["flow"], refused.code).inc()
                raise
            key = (verification_codes.c.flow == request["flow"]) & (verification_codes.c.email == email)
            if proven:
                conn.execute(update(verification_codes).where(key).values(used=True))
                conn.execute(tickets.insert().values(
                    ticket_hash=domain.hash_ticket(ticket), flow=request["flow"], email=email,
                    parent_id=row.parent_id, expires_at=now + domain.TICKET_LIFETIME))
            else:
                conn.execute(update(verification_codes).where(key)
                             .values(failed_tries=verification_codes.c.failed_tries + 1))
        if not proven:  # raised after the commit: the wrong try counts
            CODE_FAILURES.labels(request["flow"], "code_wrong").inc()
            raise domain.wrong_code(row.failed_tries + 1)
        return {"ticket": ticket, "expires_in_seconds": int(domain.TICKET_LIFETIME.total_seconds())}

    # -- accounts -------------------------------------------------------------------------------

    @rpc
    def register(self, ticket=None, password=None, password_confirmation=None, locale="fr"):
        """Create the account for the proven email, with its password; emits ``ParentVerified``."""
        request = errors.load(NewPasswordSchema(), {
            "ticket": ticket, "password": password, "password_confirmation": password_confirmation,
            "locale": locale})

        def register(unit):
            proven = self._use_ticket(unit.conn, request["ticket"], "register")
            domain.PASSWORD_RULE.check(request["password"], request["password_confirmation"], proven.email)
            parent_id = self.accounts.create(proven.email, request["password"], request["locale"])
            self._prove(unit, parent_id, proven.email, request["locale"])
            return {"parent_id": parent_id, "email": proven.email}

        return commands.run(self.db, register)

    @rpc
    def reset_password(self, ticket=None, password=None, password_confirmation=None):
        """Set a new password on the account of the proven email; its sessions end."""
        request = errors.load(NewPasswordSchema(), {
            "ticket": ticket, "password": password, "password_confirmation": password_confirmation})
        with self.db.begin() as conn:
            proven = self._use_ticket(conn, request["ticket"], "reset")
            domain.PASSWORD_RULE.check(request["password"], request["password_confirmation"], proven.email)
            # Only the owner of the mailbox gets this far, so saying "no account" reveals nothing.
            user = self.accounts.find(proven.email)
            if user is None:
                raise NotFound("account_not_found")
            self.accounts.set_password(user["id"], request["password"])
            self.accounts.end_all_sessions(user["id"])
        return {"status": "password_changed"}

    @rpc
    def claim_school_email(self, parent_id, ticket=None):
        """A social account names the email it gave the school: its own verified email (no
        ticket), or another one proven by a ``claim`` code (the ticket)."""
        request = errors.load(ClaimSchema(), {"parent_id": parent_id, "ticket": ticket})
        parent_id = request["parent_id"]
        user = self._user(parent_id)

        def claim(unit):
            if request["ticket"] is None:
                if not user.get("emailVerified") or not user.get("email"):
                    raise DomainError("code_required", field="ticket")
                email = domain.normalise_email(user["email"])
            else:
                proven = self._use_ticket(unit.conn, request["ticket"], "claim")
                if proven.parent_id != parent_id:
                    raise DomainError("ticket_invalid", field="ticket")
                email = proven.email
                if domain.normalise_email(user.get("email") or "") != email or not user.get("emailVerified"):
                    self.accounts.set_email(parent_id, email)
            self._prove(unit, parent_id, email, locale_of(user))
            return {"parent_id": parent_id, "email": email, "school_email_verified": True}

        return commands.run(self.db, claim)

    @rpc
    def me(self, parent_id):
        """Who this parent is, and whether their school email is proven."""
        parent_id = errors.load(ParentSchema(), {"parent_id": parent_id})["parent_id"]
        user = self._user(parent_id)
        email = domain.normalise_email(user.get("email") or "")
        with self.db.begin() as conn:
            verified = conn.execute(select(parents.c.email).where(parents.c.parent_id == parent_id)).scalar()
        return {"parent_id": parent_id, "email": email or None, "school_email_verified": verified == email,
                "locale": locale_of(user), "totp_enabled": self.accounts.totp_enabled(parent_id)}

    @rpc
    def set_two_factor(self, parent_id, enabled=None):
        request = errors.load(TwoFactorSchema(), {"parent_id": parent_id, "enabled": enabled})
        parent_id = request["parent_id"]
        self.accounts.set_two_factor(parent_id, self._user(parent_id), request["enabled"])
        user = self._user(parent_id)
        return {"totp_enabled": self.accounts.totp_enabled(parent_id),
                "setup_pending": "CONFIGURE_TOTP" in user.get("requiredActions", [])}

    @rpc
    def sessions(self, parent_id):
        """The parent's active sessions, newest first."""
        parent_id = errors.load(ParentSchema(), {"parent_id": parent_id})["parent_id"]
        self._user(parent_id)
        return sorted(self.accounts.sessions(parent_id), key=lambda s: s["started_at"] or "", reverse=True)

    @rpc
    def end_session(self, parent_id, session_id=None):
        """End one of the parent's sessions (another device, a forgotten browser)."""
        request = errors.load(SessionSchema(), {"parent_id": parent_id, "session_id": session_id})
        parent_id = request["parent_id"]
        self._user(parent_id)
        if request["session_id"] not in {s["session_id"] for s in self.accounts.sessions(parent_id)}:
            raise NotFound("session_not_found", field="session_id")
        self.accounts.end_session(request["session_id"])
        return {"ended": request["session_id"]}

    @rpc
    def close_account(self, parent_id, confirmation=None):
        """Delete the account; ``ParentAccountClosed`` tells every service to forget the parent."""
        request = errors.load(CloseSchema(), {"parent_id": parent_id, "confirmation": confirmation})
        parent_id = request["parent_id"]
        user = self._user(parent_id)
        email = domain.normalise_email(user.get("email") or "")
        if not email or domain.normalise_email(request["confirmation"]) != email:
            raise DomainError("confirmation_mismatch", field="confirmation")

        def close(unit):
            account = unit.load(domain.ParentAccount, parent_id)
            account.close(self.ops.correlation_id)
            unit.save(account)
            unit.conn.execute(delete(verification_codes).where(
                or_(verification_codes.c.email == email, verification_codes.c.parent_id == parent_id)))
            unit.conn.execute(delete(tickets).where(or_(tickets.c.email == email, tickets.c.parent_id == parent_id)))
            # Last, inside the transaction: if Keycloak refuses, nothing is recorded.
            self.accounts.delete(parent_id)
            return {"status": "closed"}

        return commands.run(self.db, close)

    @rpc
    def password_rules(self):
        return domain.PASSWORD_RULE.describe()

    # -- helpers --------------------------------------------------------------------------------

    def _user(self, parent_id: str) -> dict:
        user = self.accounts.get(parent_id)
        if user is None:
            raise NotFound("parent_not_found")
        return user

    def _use_ticket(self, conn, ticket: str, flow: str) -> domain.Ticket:
        """The ticket, checked and marked used in the caller's transaction (so a refused step
        leaves it usable, and a replay finds it used)."""
        row = conn.execute(
            select(tickets).where(tickets.c.ticket_hash == domain.hash_ticket(ticket)).with_for_update()
        ).first()
        found = None if row is None else domain.Ticket(row.flow, row.email, row.parent_id, row.expires_at, row.used)
        checked = domain.check_ticket(found, flow, _now())
        conn.execute(update(tickets).where(tickets.c.ticket_hash == row.ticket_hash).values(used=True))
        return checked

    def _prove(self, unit, parent_id: str, email: str, locale: str) -> None:
        account = unit.load(domain.ParentAccount, parent_id)
        account.prove_email(email, locale, self.ops.correlation_id)
        unit.save(account)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stripped(value):
    return value.strip() if isinstance(value, str) else value
