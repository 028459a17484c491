"""A parent's passkeys (WebAuthn Passwordless credentials in Keycloak): listed, removed one by
one, all removed with every session when the parent ends them all, and listed in the export.

Keycloak registers them itself (the application-initiated action ``webauthn-register-passwordless``
after a fresh login) and checks them at login; this part of the identity service only reads and
deletes them through the admin API. Closing the account deletes the Keycloak user, and its
passkeys with it.
"""
from __future__ import annotations

from servicekit import errors, store
from servicekit.children import ParentSchema
from servicekit.errors import NotFound
from servicekit.rpc import rpc

from .schemas import PasskeySchema


class Passkeys:
    """The passkey methods of ``IdentityService`` (which provides ``accounts``, ``me`` and ``_user``)."""

    @rpc
    def passkeys(self, parent_id):
        """The parent's passkeys, newest first: label, created, last used; never key material."""
        parent_id = errors.load(ParentSchema(), {"parent_id": parent_id})["parent_id"]
        self._user(parent_id)
        return _newest_first(self.accounts.passkeys(parent_id))

    @rpc
    def remove_passkey(self, parent_id, passkey_id=None):
        """Remove one of the parent's passkeys: it no longer signs in. Another parent's passkey, or
        one already removed, is ``passkey_not_found`` (the same answer)."""
        request = errors.load(PasskeySchema(), {"parent_id": parent_id, "passkey_id": passkey_id})
        parent_id = request["parent_id"]
        self._user(parent_id)
        if request["passkey_id"] not in {p["passkey_id"] for p in self.accounts.passkeys(parent_id)}:
            raise NotFound("passkey_not_found", field="passkey_id")
        self.accounts.delete_credential(parent_id, request["passkey_id"])
        return {"removed": request["passkey_id"]}

    @rpc
    def end_all_sessions(self, parent_id):
        """Every session of the parent ends, and every passkey is removed: a lost or shared device
        that holds one could otherwise sign in again at once. The password stays."""
        parent_id = errors.load(ParentSchema(), {"parent_id": parent_id})["parent_id"]
        self._user(parent_id)
        removed = 0
        for passkey in self.accounts.passkeys(parent_id):
            self.accounts.delete_credential(parent_id, passkey["passkey_id"])
            removed += 1
        self.accounts.end_all_sessions(parent_id)
        return {"status": "ended", "passkeys_removed": removed}

    @rpc
    def export(self, parent_id):
        """Identity's part of "download my data": the account (``me``), its passkeys, and the
        events identity's store holds about the parent."""
        account = self.me(parent_id)
        with self.db.begin() as conn:
            stored = store.about_parent(conn, account["parent_id"])
        return dict(account, passkeys=_newest_first(self.accounts.passkeys(account["parent_id"])), events=stored)


def _newest_first(passkeys: list[dict]) -> list[dict]:
    return sorted(passkeys, key=lambda p: p["created_at"] or "", reverse=True)
