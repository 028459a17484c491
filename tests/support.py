"""Helpers shared by the tests and the benchmarks (``time.sleep`` is green once the tests have
patched the standard library)."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from base64 import b64encode
from urllib.parse import quote

# This test session's own vhost and database names start with it.
SESSION = f"t{os.getpid()}"


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
        time.sleep(0.05)


def stop_processes(*processes: subprocess.Popen) -> None:
    """SIGTERM to all at once, so that they shut down side by side; SIGKILL to any still running
    20 s later."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def eventually(check, timeout: float = 15, interval: float = 0.05):
    """Poll ``check`` until it returns a truthy value; fail with its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        time.sleep(interval)


def _rabbit_api(method: str, path: str, body: dict | None = None, env=os.environ) -> None:
    request = urllib.request.Request(f"{env['PORTAL_RABBIT_HTTP_URL']}/api/{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    token = b64encode(f"{env['PORTAL_AMQP_USER']}:{env['PORTAL_AMQP_PASSWORD']}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=30).close()


def create_vhost(name: str, env=os.environ) -> str:
    """A RabbitMQ vhost of our own (through the management API); returns its AMQP URL. ``env``:
    the settings of the node (another node than the local servers' for fault tests)."""
    _rabbit_api("PUT", f"vhosts/{name}", env=env)
    _rabbit_api("PUT", f"permissions/{name}/{quote(env['PORTAL_AMQP_USER'])}",
                {"configure": ".*", "write": ".*", "read": ".*"}, env=env)
    return f"{env['PORTAL_AMQP_URL_BASE']}/{name}"


def delete_vhost(name: str, env=os.environ) -> None:
    """Remove a vhost; one already gone is what was wanted."""
    try:
        _rabbit_api("DELETE", f"vhosts/{name}", env=env)
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
