"""``python -m gateway``: serve the API and the web client on PORTAL_GATEWAY_HOST:PORTAL_GATEWAY_PORT,
and ``/metrics``, ``/healthz``, ``/readyz`` on the ops port (PORTAL_OPS_HOST, PORTAL_OPS_PORT or
PORTAL_OPS_PORT_GATEWAY, as a service's), which is never the public one."""
from servicekit.green import patch

patch()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
from pathlib import Path  # noqa: E402

import eventlet  # noqa: E402
from greenlet import GreenletExit  # noqa: E402
import eventlet.wsgi  # noqa: E402

from contracts import trust  # noqa: E402
from servicekit import config, logs  # noqa: E402
from servicekit.tokens import TokenVerifier  # noqa: E402

from .app import Gateway, Settings  # noqa: E402

MAX_CONNECTIONS = 5000  # open event streams and API requests, each one green thread


def realm_url_from_env() -> str:
    """Keycloak's own address of the realm (PORTAL_KEYCLOAK_URL, in-cluster in Kubernetes)."""
    keycloak = os.environ.get("PORTAL_KEYCLOAK_URL", "http://127.0.0.1:8180").rstrip("/")
    return f"{keycloak}/realms/{os.environ.get('PORTAL_KEYCLOAK_REALM', 'portal')}"


def keys_url_from_env() -> str:
    """Where the realm's signing keys are fetched: PORTAL_TOKEN_JWKS_URL, else Keycloak's own
    address, never the public issuer's host."""
    return os.environ.get("PORTAL_TOKEN_JWKS_URL") or f"{realm_url_from_env()}/protocol/openid-connect/certs"


def settings_from_env() -> Settings:
    """PORTAL_TOKEN_ISSUER is the issuer as browsers see it (the tokens' `iss`, and what /config
    tells the web client); by default Keycloak's own address, which is right on one machine."""
    keycloak = os.environ.get("PORTAL_KEYCLOAK_URL", "http://127.0.0.1:8180")
    realm = os.environ.get("PORTAL_KEYCLOAK_REALM", "portal")
    dist = Path(os.environ.get("PORTAL_WEB_DIST") or Path(__file__).resolve().parent.parent / "web" / "dist")
    return Settings(
        amqp_url=config.amqp_url(trust.GATEWAY),
        issuer=os.environ.get("PORTAL_TOKEN_ISSUER") or f"{keycloak}/realms/{realm}",
        audience=os.environ.get("PORTAL_API_AUDIENCE", "portal-api"),
        web_client_id=os.environ.get("PORTAL_WEB_CLIENT_ID", "portal-web"),
        web_dist=dist,
        tile_deadline=float(os.environ.get("PORTAL_TILE_DEADLINE", "0.3")),
        concurrency=int(os.environ.get("PORTAL_GATEWAY_CONCURRENCY", "64")),
        queue_wait=float(os.environ.get("PORTAL_GATEWAY_QUEUE_WAIT", "0.05")),
        trusted_proxies=int(os.environ.get("PORTAL_TRUSTED_PROXIES", "0")),
        # Sessions are checked at Keycloak's own address too (the public host in forwarded headers).
        userinfo_url=os.environ.get("PORTAL_TOKEN_USERINFO_URL")
        or f"{realm_url_from_env()}/protocol/openid-connect/userinfo",
    )


def main() -> int:
    logs.configure("gateway")
    settings = settings_from_env()
    gateway = Gateway(settings, TokenVerifier(settings.issuer, settings.audience, jwks_url=keys_url_from_env()))
    gateway.start()
    host = os.environ.get("PORTAL_GATEWAY_HOST", "127.0.0.1")
    port = int(os.environ.get("PORTAL_GATEWAY_PORT", "8000"))
    sock = eventlet.listen((host, port), backlog=1024)
    server = eventlet.spawn(eventlet.wsgi.server, sock, gateway, max_size=MAX_CONNECTIONS, log_output=False,
                            keepalive=True, socket_timeout=None)
    ops_host, ops_port = os.environ.get("PORTAL_OPS_HOST", "127.0.0.1"), config.ops_port("gateway")
    ops_server = eventlet.spawn(eventlet.wsgi.server, eventlet.listen((ops_host, ops_port)), gateway.ops,
                                log_output=False)

    def shutdown(signum, frame):
        ops_server.kill()
        server.kill()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    logging.getLogger(__name__).info("gateway listening on %s:%d, ops on %s:%d", host, port, ops_host, ops_port)
    try:
        server.wait()  # until a signal kills it
    except GreenletExit:
        pass
    gateway.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
