"""While Keycloak cannot give its keys, tokens with invented key ids do not each send the
verifier to ask again: one attempt per interval, the others told at once that the keys are out
of reach. No Keycloak: a small HTTP server of the test's own counts the requests."""
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from servicekit.tokens import TokenVerifier

ISSUER = "http://127.0.0.1/realms/portal"


@pytest.fixture
def refusing_keycloak():
    """The address of a key URL that answers 503 to every request, and the requests counted."""
    asked = []

    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs", asked
    server.shutdown()
    server.server_close()


def _invented_key_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    return jwt.encode({"sub": "someone", "iss": ISSUER, "aud": "portal-api", "iat": now, "exp": now + 300}, key,
                      algorithm="RS256", headers={"kid": uuid.uuid4().hex})


def test_while_keycloak_refuses_invented_key_ids_make_one_fetch_per_interval(refusing_keycloak):
    url, asked = refusing_keycloak
    verifier = TokenVerifier(ISSUER, "portal-api", jwks_url=url, refetch_interval=30, timeout=2)
    tokens = [_invented_key_token() for _ in range(5)]
    for token in tokens * 4:
        # Out of reach, as the gateway expects it (503 sign_in_unavailable, not a refused token).
        with pytest.raises(OSError):
            verifier.verify(token)
    assert len(asked) == 1

    verifier.refetch_interval = 0  # the interval has passed: one more attempt, then a wait again
    with pytest.raises(OSError):
        verifier.verify(tokens[0])
    assert len(asked) == 2


def test_a_closed_port_arms_the_guard_too():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/certs"  # nobody listens there once closed
    verifier = TokenVerifier(ISSUER, "portal-api", jwks_url=url, refetch_interval=30, timeout=2)
    fetches = []
    fetch = verifier._fetch
    verifier._fetch = lambda: fetches.append(1) or fetch()
    for _ in range(10):
        with pytest.raises(OSError):
            verifier.verify(_invented_key_token())
    assert len(fetches) == 1
