"""Who asks, and may they: the parent named by the request's bearer token, whose Keycloak session
still lives, and whether a child is theirs (linking's answer, cached in ``links``). A child that is
not the parent's and one that does not exist get the same 404."""
from __future__ import annotations

import logging
import time

from werkzeug.wrappers import Request

from servicekit.tokens import InvalidToken

from .http import ApiError, guarded
from .links import LinkCache

log = logging.getLogger(__name__)

# Closing the account and downloading everything ask for a login this recent (the token's
# auth_time): a phone left signed in, or a stolen token, does not do either.
RECENT_LOGIN = 10 * 60


class Auth:
    def __init__(self, verifier, links: LinkCache, sessions):
        self.verifier, self.links, self.sessions = verifier, links, sessions

    def parent(self, request: Request, recent_login: bool = False) -> tuple[str, dict]:
        """The parent's id and the token's claims; with ``recent_login``, only for a login of
        the last ``RECENT_LOGIN`` seconds (403 ``recent_login_required``: log in again)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "token_missing")
        try:
            claims = self.verifier.verify(token.strip())
        except InvalidToken as exc:
            # The client only needs to know whether a refresh may help; the reason is logged.
            log.info("refused a token: %s", exc.code)
            raise ApiError(401, "token_expired" if exc.code == "expired" else "token_invalid") from None
        except OSError:  # a key the gateway has not cached, and Keycloak out of reach to fetch it
            raise ApiError(503, "sign_in_unavailable") from None
        if not self.sessions.alive(token.strip(), claims):
            # Logged out, every session ended, a new password, a closed account.
            log.info("refused a token: session_ended")
            raise ApiError(401, "session_ended")
        if recent_login and not time.time() - float(claims.get("auth_time") or 0) <= RECENT_LOGIN:
            raise ApiError(403, "recent_login_required")
        return claims["sub"], claims

    def signed_in(self, request: Request) -> bool:
        """Whether the request's token and session still hold (an open stream asks again)."""
        try:
            self.parent(request)
        except ApiError as exc:
            return exc.status != 401
        return True

    def check_child(self, parent_id: str, student_id: str, correlation_id: str) -> None:
        if not guarded(lambda: self.links.is_linked(parent_id, student_id, correlation_id)):
            raise ApiError(404, "child_not_found")
