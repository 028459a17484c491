"""Helpers shared by the tests."""
import time

import eventlet


def service_config(service: str, amqp: str, database: str, **overrides) -> dict:
    return {
        "AMQP_URI": amqp, "DATABASE_URL": database, "OPS_PORT": 0, "OPS_HOST": "127.0.0.1",
        "max_workers": 10, "serializer": "json", "RETRY_DELAYS": [0.2, 0.5], **overrides,
    }


def wait_ready(container, timeout: float = 30) -> None:
    ops = next(e for e in container.extensions if type(e).__name__ == "Operations")
    deadline = time.monotonic() + timeout
    while ops.readiness_problems():
        if time.monotonic() > deadline:
            raise AssertionError(f"{container.service_name} not ready: {ops.readiness_problems()}")
        eventlet.sleep(0.05)


def eventually(check, timeout: float = 15, interval: float = 0.05):
    """Poll ``check`` until it returns a truthy value; fail with its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        eventlet.sleep(interval)
