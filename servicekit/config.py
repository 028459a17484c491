"""A service process's configuration, read from the environment (see docs/conventions.md)."""
import hashlib
import os
from urllib.parse import quote, unquote, urlsplit, urlunsplit

OPS_PORTS = {
    "gateway": 8100, "identity": 8101, "linking": 8102, "attendance": 8103,
    "grades": 8104, "billing": 8105, "notices": 8106,
}


def amqp_url(user: str) -> str:
    """The broker URL of ``user`` (a service, the gateway: ``contracts.trust``)."""
    return as_user(os.environ.get("PORTAL_AMQP_URL") or f"{os.environ['PORTAL_AMQP_URL_BASE']}/portal", user)


def as_user(url: str, user: str) -> str:
    """``url`` with the credentials of broker user ``user``. On one machine
    (``PORTAL_AMQP_USERS_SECRET`` set) each user's password derives from that one secret, so any
    URL of the broker serves every process in its own name; in a cluster each process is given
    its own URL, used as it is."""
    secret = os.environ.get("PORTAL_AMQP_USERS_SECRET")
    if not secret:
        return url
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{local_password(user)}@{host}"))


def local_password(user: str) -> str:
    """The password of broker user ``user`` on one machine (see ``as_user``)."""
    secret = os.environ["PORTAL_AMQP_USERS_SECRET"]
    return hashlib.sha256(f"{secret}:{user}".encode()).hexdigest()[:32]


def user_of(url: str) -> str:
    """The broker user a URL connects as: what RabbitMQ expects in a message's ``user_id``."""
    return unquote(urlsplit(url).username or "guest")


def database_url(service: str) -> str:
    return os.environ.get("PORTAL_DATABASE_URL") or f"{os.environ['PORTAL_PG_URL_BASE']}/{service}"


def ops_port(service: str) -> int:
    return int(
        os.environ.get("PORTAL_OPS_PORT")
        or os.environ.get(f"PORTAL_OPS_PORT_{service.upper()}")
        or OPS_PORTS.get(service, 8080)
    )


def service_config(service: str) -> dict:
    """The nameko config of one service process."""
    return {
        "AMQP_URI": amqp_url(service),
        "DATABASE_URL": database_url(service),
        "OPS_PORT": ops_port(service),
        "OPS_HOST": os.environ.get("PORTAL_OPS_HOST", "127.0.0.1"),
        "max_workers": int(os.environ.get("PORTAL_MAX_WORKERS", "10")),
        "serializer": "json",
        # Seconds a failed event waits before each new try; then it is dead-lettered.
        "RETRY_DELAYS": [float(s) for s in os.environ.get("PORTAL_RETRY_DELAYS", "1,5,25").split(",")],
    }
