"""HTTP as the gateway speaks it: the API's error (a status, a stable code, the field) and the
services' failures turned into it, JSON in and out, the request's language and the parent's
address, and the headers every answer carries."""
from __future__ import annotations

import ipaddress
import json
import logging
import threading
from contextlib import contextmanager

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Request, Response

from servicekit.errors import DomainError

from .rpc import CANNOT_ANSWER

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, field: str | None = None, params: dict | None = None):
        super().__init__(code)
        self.status, self.code, self.field, self.params = status, code, field, params or {}


def error_response(request: Request, exc: ApiError, catalogue) -> Response:
    """The error as JSON: its code, the catalogue's message in the request's language, the field."""
    body = {"code": exc.code, "message": catalogue.message(exc.code, language(request), exc.params),
            "field": exc.field}
    if exc.params:
        body["params"] = exc.params
    response = json_response(body, exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
    if exc.status in (429, 503) and "retry_after" in exc.params:
        response.headers["Retry-After"] = str(exc.params["retry_after"])
    return response


class Turns:
    """The API requests this process serves at once (``at_once``); one more waits its turn
    ``wait`` seconds at most, then gets 503 ``overloaded`` with Retry-After: past what the process
    can serve, a parent is told at once to come back rather than left to time out."""

    RETRY_AFTER = 2  # seconds

    def __init__(self, at_once: int, wait: float):
        self._free = threading.BoundedSemaphore(at_once)  # green under eventlet
        self.wait = wait

    @contextmanager
    def one(self):
        if not self._free.acquire(timeout=self.wait):
            raise ApiError(503, "overloaded", params={"retry_after": self.RETRY_AFTER})
        try:
            yield
        finally:
            self._free.release()


def language(request: Request) -> str:
    asked = request.args.get("lang")
    if asked in ("fr", "en"):
        return asked
    return request.accept_languages.best_match(["fr", "en"], default="fr")


def client_address(request: Request, trusted_proxies: int) -> str:
    """The parent's address, which rate limits count: the connection's, or behind
    ``trusted_proxies`` proxies (each appends the address it saw to X-Forwarded-For) the one the
    outermost of them saw, the N-th from the right. What the client wrote there itself is further
    left and never read; without trusted proxies the header is ignored."""
    if trusted_proxies:
        forwarded = [a.strip() for a in ",".join(request.headers.getlist("X-Forwarded-For")).split(",")]
        if len(forwarded) >= trusted_proxies:
            try:
                return str(ipaddress.ip_address(forwarded[-trusted_proxies]))
            except ValueError:
                pass  # not an address: a proxy that does not write the header as said
    return request.remote_addr


def read_body(request: Request):
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise ApiError(400, "invalid_json") from None


def json_response(value, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False, separators=(",", ":")), status,
                    content_type="application/json; charset=utf-8")


def secure(response: Response, issuer: str) -> None:
    """Security headers on every answer; the strict CSP lets the app talk only to itself and to
    Keycloak (login, token refresh)."""
    keycloak = issuer.split("/realms/")[0]
    response.headers.setdefault("Content-Security-Policy", "; ".join((
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "font-src 'self'", f"connect-src 'self' {keycloak}", f"form-action 'self' {keycloak}",
        "manifest-src 'self'", "base-uri 'none'", "frame-ancestors 'none'",
    )))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"


def guarded(call):
    """A service's answer; its domain errors and its absence as API errors."""
    try:
        return call()
    except DomainError as exc:  # Unavailable among them, with its own reason (mail, sign-in)
        raise ApiError(exc.status, exc.code, exc.field, exc.params) from None
    except RemoteError as exc:
        log.error("service failed: %s", exc)
        raise ApiError(502, "internal_error") from None
    except CANNOT_ANSWER:  # the others: down, too slow, or not offering this yet
        raise ApiError(503, "service_unavailable") from None
