"""A parent's browser, as far as Keycloak's pages go: the web client's authorization code flow
with PKCE, the login forms (the portal's and the stand-in social provider's), and the token
exchange. Plain HTTP with cookies, so that the tests drive the real Keycloak pages."""
from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urljoin, urlparse

import requests

REDIRECT_URI = "http://127.0.0.1:8000/callback"
CLIENT_ID = "portal-web"


class LoginFailed(AssertionError):
    def __init__(self, page: str):
        super().__init__(f"Keycloak answered with a page instead of the code: {_text(page)[:400]}")
        self.page = page


class Browser:
    def __init__(self, keycloak_url: str, realm: str = "portal"):
        self.keycloak_url = keycloak_url.rstrip("/")
        self.issuer = f"{self.keycloak_url}/realms/{realm}"
        self.session = requests.Session()
        self.verifier = secrets.token_urlsafe(48)

    def start(self, **extra) -> requests.Response:
        """Open the realm's login page for the web client (``extra``: e.g. kc_idp_hint)."""
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
                  "scope": "openid", "state": secrets.token_urlsafe(8), "code_challenge": challenge,
                  "code_challenge_method": "S256", **extra}
        return self.follow(self.session.get(f"{self.issuer}/protocol/openid-connect/auth", params=params,
                                            allow_redirects=False, timeout=20))

    def follow(self, response: requests.Response) -> requests.Response:
        """Follow redirects, stopping at the web client's callback (nothing listens there)."""
        for _ in range(10):
            self._trust_loopback_cookies()
            if response.status_code not in (301, 302, 303):
                return response
            target = urljoin(response.url, response.headers["Location"])
            if target.startswith(REDIRECT_URI):
                return response
            response = self.session.get(target, allow_redirects=False, timeout=20)
        raise AssertionError("too many redirects")

    def _trust_loopback_cookies(self) -> None:
        # Keycloak marks its cookies Secure; browsers send them to http://127.0.0.1 anyway
        # (a loopback origin is a secure context), requests does not unless told.
        for cookie in self.session.cookies:
            cookie.secure = False

    def submit(self, page: requests.Response, **fields) -> requests.Response:
        """Fill the page's form and send it."""
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        if action is None:
            raise LoginFailed(page.text)
        return self.follow(self.session.post(html.unescape(action.group(1)), data=fields,
                                             allow_redirects=False, timeout=20))

    def code_of(self, response: requests.Response) -> str:
        location = response.headers.get("Location", "")
        if not location.startswith(REDIRECT_URI):
            raise LoginFailed(response.text)
        query = parse_qs(urlparse(location).query)
        if "code" not in query:
            raise AssertionError(f"no code in {location}")
        return query["code"][0]

    def tokens(self, response: requests.Response) -> dict:
        """Trade the callback's code for tokens, with the PKCE verifier."""
        answer = self.session.post(f"{self.issuer}/protocol/openid-connect/token", data={
            "grant_type": "authorization_code", "client_id": CLIENT_ID, "code": self.code_of(response),
            "redirect_uri": REDIRECT_URI, "code_verifier": self.verifier}, timeout=20)
        answer.raise_for_status()
        return answer.json()

    def login(self, email: str, password: str) -> dict:
        return self.tokens(self.submit(self.start(), username=email, password=password))

    def login_with_passkey(self, passkey, user_id: str, verified: bool = True) -> dict:
        """Sign in with a passkey (bench/webauthn.py's software authenticator) from the login page,
        as its « Se connecter avec une clé d'accès » does. The browser must reach Keycloak at a host
        name (WebAuthn refuses an IP address): http://localhost:8180."""
        action, fields = passkey.answer(self.start().text, user_id, self.keycloak_url, verified)
        return self.tokens(self.follow(self.session.post(action, data=fields, allow_redirects=False, timeout=20)))

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.session.post(f"{self.issuer}/protocol/openid-connect/token", data={
            "grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": refresh_token}, timeout=20)

    def logout(self, refresh_token: str) -> requests.Response:
        return self.session.post(f"{self.issuer}/protocol/openid-connect/logout", data={
            "client_id": CLIENT_ID, "refresh_token": refresh_token}, timeout=20)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
