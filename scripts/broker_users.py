"""The local broker's users: one per service, one for the gateway and one per school board, each
with the permissions of ``contracts.trust`` on a vhost and the password that
``servicekit.config.local_password`` derives. Quick and idempotent on a node that already runs: a
few PUTs to its management API, as its administrator.

    python scripts/broker_users.py   # the portal's users and the demo's boards' on $PORTAL_AMQP_VHOST

Run by scripts/servers.sh with the demo's boards; the tests grant their own vhosts the same way.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.request
from base64 import b64encode
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts import trust  # noqa: E402
from servicekit.config import local_password  # noqa: E402


def api(method: str, path: str, body: dict | None = None, env=os.environ) -> None:
    """One call to the management API of the node ``env`` describes, as its administrator."""
    request = urllib.request.Request(f"{env['PORTAL_RABBIT_HTTP_URL']}/api/{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    token = b64encode(f"{env['PORTAL_AMQP_USER']}:{env['PORTAL_AMQP_PASSWORD']}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=30).close()


def grant(vhost: str, users: list[str], env=os.environ, sources=None) -> None:
    """Make each of ``users`` exist with its password, and hold exactly its permissions on ``vhost``
    (``sources``: see ``trust.permissions``)."""
    for user in users:
        api("PUT", f"users/{quote(user, safe='')}", {"password": local_password(user), "tags": ""}, env=env)
        api("PUT", f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", trust.permissions(user, sources),
            env=env)


def main() -> None:
    from scripts.demo_school import BOARDS

    grant(os.environ["PORTAL_AMQP_VHOST"], trust.users() + [trust.school_user(board["id"]) for board in BOARDS])


if __name__ == "__main__":
    main()
