"""Access tokens from the portal's Keycloak realm, checked without any web framework.

    verifier = TokenVerifier("http://127.0.0.1:8180/realms/portal", audience="portal-api")
    claims = verifier.verify(token)      # raises InvalidToken(code)
    parent_id = claims["sub"]            # the parent's Keycloak user id

Checked: the signature against the realm's published keys (JWKS), the issuer, the audience,
the expiry, and that it is an access token. The keys are fetched once and cached; a token
signed with a key id not in the cache makes one refetch (Keycloak rotated its keys), at most
once per ``refetch_interval`` so that forged key ids cannot make us hammer Keycloak, whether the
last fetch worked or failed (while Keycloak is out of reach, such a token gets that failure
again, an ``OSError``, without another attempt). A token
found good is remembered (by its digest) until it expires: a page of a dozen calls checks its
signature once, not a dozen times.

A good signature says nothing of the session since: ``SessionCheck`` asks Keycloak whether the
token's session (its ``sid``) still lives, so that ending a session, a password reset or closing
the account stops its tokens within seconds instead of at their expiry.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
import logging
import urllib.error
import urllib.request
from collections import OrderedDict
from urllib.parse import urlsplit

import jwt

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256"]

log = logging.getLogger(__name__)


class InvalidToken(Exception):
    """The token cannot be trusted; ``code`` is one of expired, bad_signature, wrong_audience,
    wrong_issuer, malformed."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class TokenVerifier:
    def __init__(self, issuer_url: str, audience: str, leeway: float = 5, refetch_interval: float = 30,
                 timeout: float = 5, remembered: int = 10_000, jwks_url: str | None = None):
        self.issuer = issuer_url.rstrip("/")
        self.audience = audience
        self.leeway = leeway
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        # In a cluster the issuer is the public login host, while the keys are fetched from
        # Keycloak's in-cluster address: the two are set apart there (gateway/__main__.py).
        self.jwks_url = jwks_url or f"{self.issuer}/protocol/openid-connect/certs"
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._fetch_failed = False
        self._lock = threading.Lock()
        self._good: OrderedDict[bytes, dict] = OrderedDict()  # digest -> claims, oldest first
        self._remembered = remembered

    def verify(self, token: str) -> dict:
        if not isinstance(token, str) or token.count(".") != 2:
            raise InvalidToken("malformed")
        digest = hashlib.sha256(token.encode()).digest()
        claims = self._good.get(digest)
        if claims is not None and claims["exp"] + self.leeway > time.time():
            return claims
        claims = self._check(token)
        self._good[digest] = claims
        if len(self._good) > self._remembered:
            self._good.popitem(last=False)
        return claims

    def _check(self, token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed") from None
        if header.get("alg") not in ALGORITHMS:
            # "none" and HMAC algorithms are never accepted from a public-key issuer.
            raise InvalidToken("bad_signature")
        key = self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[header["alg"]], audience=self.audience, issuer=self.issuer,
                leeway=self.leeway, options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong_issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad_signature") from None
        except jwt.MissingRequiredClaimError as missing:
            raise InvalidToken("wrong_audience" if missing.claim == "aud" else "malformed") from None
        except jwt.PyJWTError:
            raise InvalidToken("malformed") from None
        if claims.get("typ", "Bearer") != "Bearer":  # an ID or refresh token is not an access token
            raise InvalidToken("wrong_audience")
        return claims

    def _key(self, kid) -> jwt.PyJWK:
        if not isinstance(kid, str):
            raise InvalidToken("malformed")
        key = self._keys.get(kid)
        if key is None:
            with self._lock:
                key = self._keys.get(kid)
                if key is None and time.monotonic() - self._fetched_at >= self.refetch_interval:
                    self._fetched_at = time.monotonic()  # before asking: a failure waits its turn too
                    self._fetch_failed = True
                    self._keys = self._fetch()
                    self._fetch_failed = False
                    key = self._keys.get(kid)
                elif key is None and self._fetch_failed:
                    # The key may be a real new one: the caller hears that the keys are out of reach.
                    raise OSError("the realm's keys could not be fetched; next attempt after the interval")
        if key is None:
            # Not a key of this realm: another realm's token, or a forgery.
            raise InvalidToken("bad_signature")
        return key

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        with urllib.request.urlopen(self.jwks_url, timeout=self.timeout) as response:
            document = json.load(response)
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type this library cannot use (e.g. for encryption)
        return keys


class SessionCheck:
    """Whether the Keycloak session behind a token still lives, asked of the realm's userinfo
    endpoint with the token itself (no credential of ours): Keycloak refuses there a token whose
    session ended (logout, "end every session", a password reset, a deleted account).

    The answer is kept ``ttl`` seconds per session, so a page of a dozen calls asks once and an
    ended session is refused within ``ttl`` seconds.
    While Keycloak cannot answer (down, slow, 5xx) the token's own checks stand for ``ttl``
    seconds more: sign-in's outage does not stop parents already in, and revocation waits for
    Keycloak or for the token's expiry, as it did before this check.

    ``userinfo_url`` may be Keycloak's address inside a cluster while ``issuer`` is its public
    one: Keycloak then checks the token's issuer against the address it is asked at, so the
    request names the public host in the forwarded headers that Keycloak's proxy setting reads."""

    def __init__(self, userinfo_url: str, issuer: str, ttl: float = 5, timeout: float = 2,
                 remembered: int = 10_000):
        self.userinfo_url = userinfo_url
        self.ttl, self.timeout, self._remembered = ttl, timeout, remembered
        self._headers = {"Accept": "application/json"}
        public, asked = urlsplit(issuer), urlsplit(userinfo_url)
        if public.netloc != asked.netloc:
            self._headers.update({"X-Forwarded-Host": public.netloc, "X-Forwarded-Proto": public.scheme,
                                  "X-Forwarded-Port": str(public.port or (443 if public.scheme == "https" else 80))})
        self._known: OrderedDict[str, tuple[float, bool]] = OrderedDict()  # sid -> (until, alive)

    def alive(self, token: str, claims: dict) -> bool:
        sid = claims.get("sid")
        if not isinstance(sid, str) or not sid:
            return False  # a parent's token always names its session
        known = self._known.get(sid)
        now = time.monotonic()
        if known is not None and known[0] > now:
            self._known.move_to_end(sid)
            return known[1]
        if claims["exp"] <= time.time():
            # In the verifier's leeway: Keycloak would refuse the token itself, not its session.
            return known[1] if known is not None else True
        alive = self._ask(token)
        self._known[sid] = (now + self.ttl, alive)
        self._known.move_to_end(sid)
        if len(self._known) > self._remembered:
            self._known.popitem(last=False)
        return alive

    def _ask(self, token: str) -> bool:
        request = urllib.request.Request(self.userinfo_url, headers={**self._headers,
                                                                     "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                return True
        except urllib.error.HTTPError as refused:
            if refused.code == 401:
                return False
            log.warning("session check: Keycloak answered %d; the token's own checks stand", refused.code)
            return True
        except OSError as exc:
            log.warning("session check: Keycloak out of reach (%s); the token's own checks stand",
                        type(exc).__name__)
            return True
