"""The local servers that scripts/servers.sh starts answer, on loopback, as the portal needs them."""

import json
import os
import smtplib
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from base64 import b64encode
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from kombu import Connection, Exchange, Queue
from amqp.exceptions import AccessRefused

from tests.local_env import REPO

pytestmark = pytest.mark.usefixtures("portal_env")


def get_json(url: str, **headers) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:
        return json.load(answer)


def rabbit_api(path: str):
    credentials = f"{os.environ['PORTAL_AMQP_USER']}:{os.environ['PORTAL_AMQP_PASSWORD']}"
    return get_json(
        f"{os.environ['PORTAL_RABBIT_HTTP_URL']}/api/{path}",
        Authorization=f"Basic {b64encode(credentials.encode()).decode()}",
    )


def test_local_secrets_are_private_to_their_owner():
    secrets = Path(os.environ["PORTAL_STATE_DIR"]) / "secrets.env"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    keys = {line.split("=", 1)[0] for line in secrets.read_text().splitlines()}
    assert {"PORTAL_PG_PASSWORD", "PORTAL_AMQP_PASSWORD", "PORTAL_KEYCLOAK_ADMIN_PASSWORD"} <= keys


def test_postgresql_lets_the_portal_role_create_databases():
    url = os.environ["PORTAL_PG_URL_BASE"].replace("postgresql+psycopg://", "postgresql://")
    probe = f"t{os.getpid()}_createdb_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        assert conn.execute("show server_version").fetchone()[0].startswith("15.")
        conn.execute(f'create database "{probe}"')
    try:
        with psycopg.connect(f"{url}/{probe}") as conn:
            assert conn.execute("select current_user, current_database()").fetchone() == ("portal", probe)
    finally:
        with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
            conn.execute(f'drop database if exists "{probe}" with (force)')


def test_rabbitmq_carries_a_persistent_message_through_a_quorum_queue(amqp_url):
    exchange = Exchange("probe.events", type="topic", durable=True)
    queue = Queue(f"probe.{uuid.uuid4().hex}", exchange, routing_key="ProbeSent",
                  queue_arguments={"x-queue-type": "quorum"})
    body = {"id": str(uuid.uuid4())}
    with Connection(amqp_url, connect_timeout=10) as conn:
        bound = queue(conn.default_channel)
        bound.declare()
        try:
            conn.Producer().publish(body, exchange=exchange, routing_key="ProbeSent",
                                    serializer="json", delivery_mode=2)
            deadline = time.monotonic() + 10
            message = None
            while message is None and time.monotonic() < deadline:
                message = bound.get(no_ack=False)
                if message is None:
                    time.sleep(0.1)
            assert message is not None, "the message never arrived"
            assert message.decode() == body
            message.ack()
        finally:
            bound.delete()


def test_rabbitmq_has_the_portal_administrator_and_no_guest():
    users = {user["name"]: user for user in rabbit_api("users")}
    assert "guest" not in users
    assert "administrator" in str(users["portal"]["tags"])
    assert os.environ["PORTAL_AMQP_VHOST"] in {vhost["name"] for vhost in rabbit_api("vhosts")}
    plugins = {listener["protocol"] for listener in rabbit_api("overview")["listeners"]}
    assert {"amqp", "http", "http/prometheus"} <= plugins
    guest = f"amqp://guest:guest@127.0.0.1:{os.environ['PORTAL_AMQP_PORT']}/"
    with pytest.raises(AccessRefused):
        with Connection(guest, connect_timeout=10) as conn:
            conn.connect()


def test_rabbitmq_has_each_portal_processes_user_with_its_permissions_only():
    """scripts/servers.sh gives each service, the gateway and each demo board its broker user,
    with the permissions of contracts/trust.py; each connects with the password the processes
    derive (servicekit.config.as_user)."""
    from contracts import trust
    from scripts.demo_school import BOARDS
    from servicekit.config import as_user

    vhost = os.environ["PORTAL_AMQP_VHOST"]
    users = {user["name"]: user for user in rabbit_api("users")}
    for user in trust.users() + [trust.school_user(board["id"]) for board in BOARDS]:
        assert users[user]["tags"] in ([], ""), user  # no management rights
        granted = rabbit_api(f"permissions/{urllib.parse.quote(vhost, safe='')}/{urllib.parse.quote(user, safe='')}")
        assert {k: granted[k] for k in ("configure", "write", "read")} == trust.permissions(user), user
        with Connection(as_user(f"{os.environ['PORTAL_AMQP_URL_BASE']}/{vhost}", user), connect_timeout=10) as conn:
            conn.connect()


def test_rabbitmq_metrics_are_served_for_prometheus():
    url = f"http://127.0.0.1:{os.environ['PORTAL_RABBIT_PROMETHEUS_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert b"rabbitmq_" in answer.read()


def test_smtp_sink_writes_each_message_whole_as_an_eml_file():
    mail_dir = Path(os.environ["PORTAL_MAIL_DIR"])
    token = uuid.uuid4().hex
    message = EmailMessage()
    message["From"] = "ecole@example.org"
    message["To"] = "parent@example.org"
    message["Subject"] = f"Code de vérification {token}"
    message.set_content("Votre code : 123456\nYour code: 123456\n")
    with smtplib.SMTP(os.environ["PORTAL_SMTP_HOST"], int(os.environ["PORTAL_SMTP_PORT"]), timeout=10) as smtp:
        smtp.send_message(message, to_addrs=["parent@example.org", "cache@example.org"])

    def arrived():
        return [path for path in mail_dir.glob("*.eml") if token.encode() in path.read_bytes()]

    deadline = time.monotonic() + 10
    while not (found := arrived()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(found) == 1, f"no single .eml with {token} in {mail_dir}"
    received = message_from_bytes(found[0].read_bytes(), policy=policy.default)
    assert received["Subject"] == f"Code de vérification {token}"
    assert received["X-Envelope-To"] == "parent@example.org, cache@example.org"
    assert "Votre code : 123456" in received.get_content()
    assert not list(mail_dir.glob(".*.tmp")), "a temporary file was left behind"


def test_keycloak_is_ready_and_serves_the_portal_realm():
    health = get_json(f"{os.environ['PORTAL_KEYCLOAK_MGMT_URL']}/health/ready")
    assert health["status"] == "UP"
    for realm in ("portal", "social-standin"):
        issuer = f"{os.environ['PORTAL_KEYCLOAK_URL']}/realms/{realm}"
        discovery = get_json(f"{issuer}/.well-known/openid-configuration")
        assert discovery["issuer"] == issuer
        assert "S256" in discovery["code_challenge_methods_supported"]


def test_portal_realm_speaks_french_first_then_english():
    form = urllib.parse.urlencode({
        "grant_type": "password", "client_id": "admin-cli",
        "username": os.environ["PORTAL_KEYCLOAK_ADMIN"],
        "password": os.environ["PORTAL_KEYCLOAK_ADMIN_PASSWORD"],
    }).encode()
    token_url = f"{os.environ['PORTAL_KEYCLOAK_URL']}/realms/master/protocol/openid-connect/token"
    with urllib.request.urlopen(token_url, data=form, timeout=30) as answer:
        token = json.load(answer)["access_token"]
    realm = get_json(f"{os.environ['PORTAL_KEYCLOAK_URL']}/admin/realms/portal",
                     Authorization=f"Bearer {token}")
    assert realm["internationalizationEnabled"] is True
    assert realm["defaultLocale"] == "fr"
    assert set(realm["supportedLocales"]) == {"fr", "en"}


def listening_sockets() -> dict[str, tuple[int, str]]:
    """Every listening TCP socket, from the kernel's own tables: inode -> (port, local address)."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A":  # LISTEN
                address, port = fields[1].split(":")
                sockets[fields[9]] = (int(port, 16), address)
    return sockets


def started_server_processes() -> set[int]:
    """The pids recorded by scripts/servers.sh and all their descendants."""
    pid_dir = Path(os.environ["PORTAL_STATE_DIR"]) / "pids"
    parents = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat_file.parent.name)] = int(fields[1])
    found = {int(path.read_text()) for path in pid_dir.glob("*.pid")}
    while grown := {pid for pid, parent in parents.items() if parent in found} - found:
        found |= grown
    return found


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


# 127.0.0.1 as the kernel prints it, in an IPv4 table and as an IPv4-mapped IPv6 address.
# 127.0.0.1, ::ffff:127.0.0.1 and ::1 as the kernel's tables spell them (epmd also takes ::1).
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def test_every_server_listens_on_loopback_only():
    sockets = listening_sockets()
    by_port: dict[int, set[str]] = {}
    for port, address in sockets.values():
        by_port.setdefault(port, set()).add(address)
    for name in ("PORTAL_PG_PORT", "PORTAL_AMQP_PORT", "PORTAL_RABBIT_HTTP_PORT",
                 "PORTAL_RABBIT_PROMETHEUS_PORT", "PORTAL_RABBIT_DIST_PORT", "PORTAL_KEYCLOAK_PORT",
                 "PORTAL_KEYCLOAK_MGMT_PORT", "PORTAL_SMTP_PORT"):
        port = int(os.environ[name])
        assert by_port.get(port), f"nothing listens on {name}={port}"
        assert by_port[port] <= LOOPBACK, f"{name}={port} listens beyond loopback: {by_port[port]}"
    # Also the ports nobody configured (a cluster transport, a debug port...) of what we started.
    for pid in started_server_processes():
        for inode in socket_inodes(pid) & sockets.keys():
            port, address = sockets[inode]
            assert address in LOOPBACK, f"pid {pid} listens on port {port} beyond loopback ({address})"


def start_servers() -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    started = subprocess.run(["bash", str(REPO / "scripts" / "servers.sh"), "start"],
                             capture_output=True, text=True, timeout=600)
    return started, time.monotonic() - began


def test_starting_again_reuses_the_running_servers():
    # Settle first: another checkout sharing this machine's servers may have restarted Keycloak
    # with its own realm files since this session began.
    assert start_servers()[0].returncode == 0
    pid_dir = Path(os.environ["PORTAL_STATE_DIR"]) / "pids"
    before = {path.name: path.read_text() for path in pid_dir.glob("*.pid")}
    again, took = start_servers()
    assert again.returncode == 0, again.stderr
    assert "starting" not in again.stdout
    assert {path.name: path.read_text() for path in pid_dir.glob("*.pid")} == before
    assert took < 15, f"a second start took {took:.1f}s"
