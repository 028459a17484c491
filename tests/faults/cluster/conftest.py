"""Fault tests on the cluster of ``make cluster`` (scripts/cluster.sh): a node of each kind killed
under load while the others carry on. Marked ``cluster`` and left out of ``make test``'s default
selection; ``make test-cluster`` runs them.

The session starts the cluster when it does not run yet, and removes it at the end; a cluster
that already ran is used and left running. Each test puts back what it killed (``heal``), except
the PostgreSQL failover, after which the promoted replica runs alone."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from base64 import b64encode
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.faults.support import REPO, readyz_status
from tests.support import use_node

SCRIPT = REPO / "scripts" / "cluster.sh"


def cluster_script(action: str, timeout: float = 900) -> str:
    done = subprocess.run(["bash", str(SCRIPT), action], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"cluster.sh {action} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


class Cluster:
    """What the tests know of the cluster: its environment (cluster.env) and where its pids are."""

    def __init__(self, env: dict):
        self.env = env
        self.dir = Path(env["PORTAL_CLUSTER_DIR"])
        self.amqp_url = env["PORTAL_AMQP_URL"]
        self.vhost = self.amqp_url.rsplit("/", 1)[1]
        # name -> (AMQP port, management API)
        self.rabbit_nodes = {name: (int(port), f"http://127.0.0.1:{http}")
                             for name, port, http in (n.split(",") for n in env["PORTAL_CLUSTER_RABBIT_NODES"].split())}

    def readiness(self, process: str) -> int | None:
        """The HTTP status of a service replica's ``/readyz`` (``attendance-a``), None if it is down."""
        url = dict(entry.split("=", 1) for entry in self.env["PORTAL_CLUSTER_OPS_URLS"].split())[process]
        return readyz_status(url, timeout=5)

    def database_url(self, service: str) -> str:
        return self.env[f"PORTAL_CLUSTER_DATABASE_URL_{service.upper()}"]

    def heal(self) -> None:
        """Start again whatever is down (the demo is not loaded twice)."""
        cluster_script("start")

    # -- RabbitMQ ---------------------------------------------------------------------------

    def rabbit_api(self, path: str, node: str | None = None):
        """GET ``path`` from the management API of ``node``, else of the first node that answers."""
        token = b64encode(f"{self.env['PORTAL_AMQP_USER']}:{self.env['PORTAL_AMQP_PASSWORD']}".encode()).decode()
        errors = []
        for name, (_, api) in self.rabbit_nodes.items():
            if node not in (None, name):
                continue
            request = urllib.request.Request(f"{api}/api/{path}", headers={"Authorization": f"Basic {token}"})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    return json.loads(answer.read())
            except OSError as error:
                errors.append(f"{name}: {error}")
        raise AssertionError(f"no RabbitMQ node answers: {errors}")

    def queue(self, name: str) -> dict:
        return self.rabbit_api(f"queues/{quote(self.vhost, safe='')}/{quote(name, safe='')}")

    def kill_rabbit(self, node: str) -> None:
        """``kill -9`` of a RabbitMQ node (the Erlang VM whose pid the node wrote)."""
        number = list(self.rabbit_nodes).index(node) + 1
        self.kill9(self.dir / f"rabbit{number}" / "pids" / "rabbitmq.pid")

    # -- processes --------------------------------------------------------------------------

    def pid(self, name: str) -> int:
        return int((self.dir / "pids" / f"{name}.pid").read_text())

    def kill9_group(self, name: str) -> None:
        """``kill -9`` of a process scripts/cluster.sh started, with its children: each leads a
        session of its own, and Keycloak's kc.sh runs Java as its child."""
        os.killpg(self.pid(name), signal.SIGKILL)

    @staticmethod
    def kill9(pid_file: Path) -> None:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.fixture(scope="session")
def cluster(portal_env):
    ran_before = "DOWN" not in cluster_script("status", timeout=120)
    cluster_script("start")
    env = dict(os.environ)
    for line in (Path(os.environ["PORTAL_STATE_DIR"]) / "cluster" / "cluster.env").read_text().splitlines():
        key, value = line.split("=", 1)
        env[key] = value.strip('"')
    running = Cluster(env)
    use_node(running.amqp_url, env)  # the school systems' users are granted on the cluster
    try:
        yield running
    finally:
        if not ran_before:
            cluster_script("remove", timeout=300)
