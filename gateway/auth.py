"""Who asks, and may they: the parent named by the request's bearer token, and whether a child is
theirs (linking's answer, cached in ``links``). A child that is not the parent's and one that does
not exist get the same 404."""
from __future__ import annotations

import logging

from werkzeug.wrappers import Request

from servicekit.tokens import InvalidToken

from .http import ApiError, guarded
from .links import LinkCache

log = logging.getLogger(__name__)


class Auth:
    def __init__(self, verifier, links: LinkCache):
        self.verifier, self.links = verifier, links

    def parent(self, request: Request) -> tuple[str, dict]:
        """The parent's id and the token's claims."""
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
        return claims["sub"], claims

    def check_child(self, parent_id: str, student_id: str, correlation_id: str) -> None:
        if not guarded(lambda: self.links.is_linked(parent_id, student_id, correlation_id)):
            raise ApiError(404, "child_not_found")
