"""The local servers and their settings, for the test suite.

``load()`` starts the servers through ``scripts/servers.sh start`` — the script a developer runs;
it leaves alone a server that already answers — once per test process, then puts every
``PORTAL_*`` setting printed by ``scripts/env.sh --print`` into ``os.environ``. A server that
cannot start fails the session with the script's own message (never a skip).
"""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_started = False


def settings() -> dict[str, str]:
    """The PORTAL_* settings of scripts/env.sh, as this process's environment makes them."""
    printed = subprocess.run(
        ["bash", str(REPO / "scripts" / "env.sh"), "--print"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)


def start_servers() -> None:
    """Start the local servers once per process; raise with the script's output if they cannot."""
    global _started
    if _started:
        return
    started = subprocess.run(
        ["bash", str(REPO / "scripts" / "servers.sh"), "start"],
        capture_output=True, text=True, timeout=600,
    )
    if started.returncode != 0:
        raise RuntimeError(f"the local servers did not start:\n{started.stdout}{started.stderr}")
    _started = True


def load() -> os._Environ:
    start_servers()
    os.environ.update(settings())
    return os.environ
