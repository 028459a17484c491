"""In a cluster the tokens' issuer is the public login host while the gateway fetches the realm's
keys from Keycloak inside the cluster: the two are separate settings (gateway/__main__.py), and a
token from the public issuer is accepted with keys served elsewhere."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from servicekit.tokens import InvalidToken, TokenVerifier

PUBLIC_ISSUER = "https://login.example.org/realms/portal"


@pytest.fixture
def in_cluster_keys():
    """A stand-in for Keycloak's in-cluster certs endpoint, and the key that signs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            body = json.dumps({"keys": [jwk]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/realms/portal/protocol/openid-connect/certs"
        yield key, url, asked
    finally:
        server.shutdown()
        server.server_close()


def token(key, issuer: str) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": "portal-api", "sub": "parent-1", "typ": "Bearer", "azp": "portal-web",
              "iat": now, "exp": now + 300}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_token_of_the_public_issuer_is_checked_with_keys_fetched_inside_the_cluster(in_cluster_keys):
    key, url, asked = in_cluster_keys
    verifier = TokenVerifier(PUBLIC_ISSUER, "portal-api", jwks_url=url)
    assert verifier.verify(token(key, PUBLIC_ISSUER))["sub"] == "parent-1"
    assert asked == ["/realms/portal/protocol/openid-connect/certs"]
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(token(key, "http://portal-keycloak-service:8080/realms/portal"))
    assert refused.value.code == "wrong_issuer"


def test_the_gateway_reads_issuer_and_key_url_apart(monkeypatch):
    from gateway.__main__ import keys_url_from_env, settings_from_env

    monkeypatch.setenv("PORTAL_KEYCLOAK_URL", "http://portal-keycloak-service:8080")
    monkeypatch.setenv("PORTAL_TOKEN_ISSUER", PUBLIC_ISSUER)
    monkeypatch.delenv("PORTAL_TOKEN_JWKS_URL", raising=False)
    assert settings_from_env().issuer == PUBLIC_ISSUER  # also what /config tells browsers
    assert keys_url_from_env() == "http://portal-keycloak-service:8080/realms/portal/protocol/openid-connect/certs"
    monkeypatch.setenv("PORTAL_TOKEN_JWKS_URL", "http://keys.internal/certs")
    assert keys_url_from_env() == "http://keys.internal/certs"


def test_sessions_are_checked_inside_the_cluster_in_the_public_issuers_name():
    """Keycloak compares a token's issuer with the address it is asked at: the in-cluster userinfo
    request names the public host in the forwarded headers that Keycloak's proxy setting reads."""
    from servicekit.tokens import SessionCheck

    seen, answer = [], {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append({k: self.headers.get(k) for k in ("X-Forwarded-Host", "X-Forwarded-Proto",
                                                           "X-Forwarded-Port", "Authorization")})
            self.send_response(answer["status"])
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/realms/portal/protocol/openid-connect/userinfo"
        check = SessionCheck(url, PUBLIC_ISSUER, ttl=0)
        claims = {"sid": "s-1", "exp": time.time() + 300}
        assert check.alive("the-token", claims) is True
        assert seen[0] == {"X-Forwarded-Host": "login.example.org", "X-Forwarded-Proto": "https",
                           "X-Forwarded-Port": "443", "Authorization": "Bearer the-token"}
        answer["status"] = 401  # the session ended
        assert check.alive("the-token", claims) is False
        assert check.alive("the-token", {"exp": time.time() + 300}) is False  # no session named
    finally:
        server.shutdown()
        server.server_close()
