"""A service process's configuration, read from the environment (see docs/conventions.md)."""
import os

OPS_PORTS = {
    "identity": 8101, "linking": 8102, "attendance": 8103,
    "grades": 8104, "billing": 8105, "notices": 8106,
}


def amqp_url() -> str:
    return os.environ.get("PORTAL_AMQP_URL") or f"{os.environ['PORTAL_AMQP_URL_BASE']}/portal"


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
        "AMQP_URI": amqp_url(),
        "DATABASE_URL": database_url(service),
        "OPS_PORT": ops_port(service),
        "OPS_HOST": os.environ.get("PORTAL_OPS_HOST", "127.0.0.1"),
        "max_workers": int(os.environ.get("PORTAL_MAX_WORKERS", "10")),
        "serializer": "json",
        # Seconds a failed event waits before each new try; then it is dead-lettered.
        "RETRY_DELAYS": [float(s) for s in os.environ.get("PORTAL_RETRY_DELAYS", "1,5,25").split(",")],
    }
