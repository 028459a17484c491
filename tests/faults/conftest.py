"""Fault tests: real service processes killed, or cut off from their servers, on loopback.

The local servers are shared by everything else that runs on the machine, so a test that stops a
server stops a private RabbitMQ node and a private PostgreSQL cluster of its own, started by
``scripts/servers.sh`` on free ports with their own state and data, and removed at the end.
"""
import os
import shutil
import subprocess
from pathlib import Path

import eventlet
import pytest
from sqlalchemy import create_engine, text

from servicekit import migrations
from tests.conftest import SESSION
from tests.faults.support import REPO, ServiceProcess, free_port
from tests.support import create_vhost, delete_vhost

# Every fault test ends within this, whatever it waits for (its own waits are bounded below it).
TEST_DEADLINE = 330


@pytest.fixture(autouse=True)
def bounded_in_time():
    with eventlet.Timeout(TEST_DEADLINE, AssertionError(f"fault test still running after {TEST_DEADLINE}s")):
        yield


class Servers:
    """Vhosts and databases of the fault tests on one RabbitMQ and one PostgreSQL, removed at
    the end."""

    def __init__(self, env):
        self.env = env
        self.vhosts, self.databases = [], []

    def amqp_url(self, name: str) -> str:
        self.vhosts.append(f"{SESSION}_{name}")
        return create_vhost(self.vhosts[-1], env=self.env)

    def database_url(self, service: str, name: str) -> str:
        self.databases.append(f"{SESSION}_{name}")
        url = f"{self.env['PORTAL_PG_URL_BASE']}/{self.databases[-1]}"
        migrations.upgrade(service, url)
        return url

    def clean(self) -> None:
        for vhost in self.vhosts:
            delete_vhost(vhost, env=self.env)
        admin = create_engine(f"{self.env['PORTAL_PG_URL_BASE']}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for database in self.databases:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


class PrivateServers(Servers):
    """A RabbitMQ node and a PostgreSQL cluster of the test session's own, that tests may stop."""

    def __init__(self, state_dir: Path):
        base = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        base.update(
            PORTAL_STATE_DIR=str(state_dir), PORTAL_CACHE_DIR=os.environ["PORTAL_CACHE_DIR"],
            PORTAL_PG_PORT=str(free_port()), PORTAL_AMQP_PORT=str(free_port()),
            PORTAL_RABBIT_HTTP_PORT=str(free_port()), PORTAL_RABBIT_PROMETHEUS_PORT=str(free_port()),
            PORTAL_RABBIT_DIST_PORT=str(free_port()), PORTAL_RABBIT_NODE=f"portal-faults-{SESSION}@localhost",
            # servers.sh gives the broker users their passwords again at each start: the same the
            # tests' processes derive, or a service could not reconnect after its broker restarted.
            PORTAL_AMQP_USERS_SECRET=os.environ["PORTAL_AMQP_USERS_SECRET"],
        )
        self.script_env = base
        printed = subprocess.run(["bash", str(REPO / "scripts" / "env.sh"), "--print"], env=base,
                                 capture_output=True, text=True, check=True, timeout=60).stdout
        super().__init__({**base, **dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)})

    def servers(self, action: str, *names: str) -> None:
        done = subprocess.run(["bash", str(REPO / "scripts" / "servers.sh"), action, *names], env=self.script_env,
                              capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise AssertionError(f"servers.sh {action} {' '.join(names)} failed:\n{done.stdout}{done.stderr}")

    def start(self, name: str) -> None:
        self.servers("start", name)

    def stop(self, name: str) -> None:
        self.servers("stop", name)

    def remove(self) -> None:
        self.servers("stop", "postgresql", "rabbitmq")
        for key, port in (("PORTAL_PG_DATA_DIR", "PORTAL_PG_PORT"), ("PORTAL_RABBIT_DATA_DIR", "PORTAL_AMQP_PORT")):
            # Only a data dir named after its private port, never a shared one.
            if self.env[key].endswith(f"-{self.env[port]}") or self.env[key].startswith(self.env["PORTAL_STATE_DIR"]):
                shutil.rmtree(self.env[key], ignore_errors=True)


@pytest.fixture(scope="session")
def shared_servers(portal_env):
    """The local servers every test uses: a fault test may kill its service, never them."""
    servers = Servers(os.environ)
    yield servers
    servers.clean()


@pytest.fixture(scope="session")
def private_servers(portal_env, tmp_path_factory):
    servers = PrivateServers(tmp_path_factory.mktemp("private-servers"))
    try:
        servers.servers("start", "postgresql", "rabbitmq")
        yield servers
        servers.clean()
    finally:
        servers.remove()


@pytest.fixture
def service_process(tmp_path):
    """``service_process(service, amqp_url, database_url, **env)``: a service process, not yet
    started; stopped at the end of the test."""
    started = []

    def make(service: str, amqp_url: str, database_url: str, **env) -> ServiceProcess:
        started.append(ServiceProcess(service, amqp_url, database_url, tmp_path / f"{service}.log", **env))
        return started[-1]

    yield make
    for process in started:
        process.stop()
