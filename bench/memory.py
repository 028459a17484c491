"""Resident memory of every service process and of the gateway, at rest and under a load of
school events.

The six services run as ``python -m servicekit run <service>`` and the gateway as ``python -m
gateway``, on a vhost and databases of their own. At rest = ready and idle; under load = the peak
while copies of every published school-system example (each with its own event id) are published
and drained. The baseline is a bare Python interpreter that imports nothing, measured in the same
run: what no service can go below.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from base64 import b64encode
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from contracts import EVENTS, Envelope
from contracts import parse
from contracts.publish import EXAMPLES
from servicekit import migrations
from servicekit.cli import SERVICES

from tests.gateway.stack import free_port
from tests.support import create_vhost, delete_vhost, send, stop_processes

from .ingestion import CHUNK, ROOT, resident_mb, wait_ready
from .report import record

EVENTS_UNDER_LOAD = int(os.environ.get("BENCH_MEMORY_EVENTS", "10000"))
DRAIN_LIMIT = 240  # seconds the services get to drain the load before the figure is taken anyway


@dataclasses.dataclass
class Portal:
    vhost: str
    amqp_url: str
    database_urls: dict[str, str]
    processes: dict[str, subprocess.Popen]  # service name (and "gateway") -> process
    gateway_url: str | None


@contextmanager
def portal(prefix: str, services=SERVICES, gateway: bool = True, environment: dict | None = None):
    """The services (and the gateway) as separate processes on a private vhost and fresh
    databases ``<prefix>_<service>``; everything is stopped, dropped and deleted afterwards."""
    base_pg = os.environ["PORTAL_PG_URL_BASE"]
    vhost = f"{prefix}{os.getpid()}"
    amqp_url = create_vhost(vhost)
    urls = {service: f"{base_pg}/{prefix}_{service}" for service in services}
    admin = create_engine(f"{base_pg}/postgres", isolation_level="AUTOCOMMIT")
    env = dict(os.environ, PORTAL_AMQP_URL=amqp_url, **(environment or {}))
    processes: dict[str, subprocess.Popen] = {}
    ports: dict[str, int] = {}
    # Each process's log, kept after the run: a benchmark's failure is read there.
    logs = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    print(f"bench: the processes' logs are in {logs}", flush=True)
    try:
        for service, url in urls.items():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)'))
            migrations.upgrade(service, url)
            ports[service] = free_port()
            processes[service] = subprocess.Popen(
                [sys.executable, "-m", "servicekit", "run", service], cwd=ROOT,
                stdout=(logs / f"{service}.log").open("w"), stderr=subprocess.STDOUT,
                env=dict(env, PORTAL_DATABASE_URL=url, PORTAL_OPS_PORT=str(ports[service])))
        gateway_url = None
        if gateway:
            ports["gateway"], public = free_port(), free_port()
            gateway_url = f"http://127.0.0.1:{public}"
            processes["gateway"] = subprocess.Popen(
                [sys.executable, "-m", "gateway"], cwd=ROOT, stdout=(logs / "gateway.log").open("w"),
                stderr=subprocess.STDOUT,
                env=dict(env, PORTAL_GATEWAY_PORT=str(public), PORTAL_OPS_PORT=str(ports["gateway"])))
        for port in ports.values():
            wait_ready(port, timeout=90)
        yield Portal(vhost, amqp_url, urls, processes, gateway_url)
    finally:
        stop_processes(*processes.values())
        with admin.connect() as conn:
            for service in urls:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)'))
        admin.dispose()
        delete_vhost(vhost)


def rabbit_get(path: str):
    """One GET of RabbitMQ's management API, as JSON."""
    request = urllib.request.Request(f"{os.environ['PORTAL_RABBIT_HTTP_URL']}/api/{path}")
    token = b64encode(f"{os.environ['PORTAL_AMQP_USER']}:{os.environ['PORTAL_AMQP_PASSWORD']}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def queue_depths(vhost: str) -> dict[str, int]:
    """Messages waiting or unacknowledged in each of the services' event queues (not their
    retry and dead-letter queues, nor RPC)."""
    queues = rabbit_get(f"queues/{quote(vhost, safe='')}?columns=name,messages")
    return {q["name"]: q.get("messages") or 0 for q in queues
            if q["name"].split(".")[0] in SERVICES and len(q["name"].split(".")) == 2
            and not q["name"].endswith(".dead-letter")}


def dead_letters(vhost: str) -> int:
    queues = rabbit_get(f"queues/{quote(vhost, safe='')}?columns=name,messages")
    return sum(q.get("messages") or 0 for q in queues if q["name"].endswith(".dead-letter"))


def school_load(count: int) -> list[Envelope]:
    """``count`` events: copies of every published school-system example, stamped now, each
    with its own id (so each is admitted and applied, like a school's daily traffic)."""
    examples = [parse(EXAMPLES.joinpath(f"{name}.json").read_text(encoding="utf-8"))
                for name, spec in sorted(EVENTS.items()) if spec.source == "sis"]
    now = dt.datetime.now(dt.timezone.utc)
    return [dataclasses.replace(examples[n % len(examples)], id=str(uuid.uuid4()), time=now)
            for n in range(count)]


def bare_interpreter_mb() -> float:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        return resident_mb(process.pid)
    finally:
        process.kill()
        process.wait()


def main() -> dict:
    baseline = bare_interpreter_mb()
    with portal("benchmem") as running:
        time.sleep(5)  # past start-up: connections made, first queries compiled
        rest = {name: resident_mb(p.pid) for name, p in running.processes.items()}
        peak = dict(rest)
        print(f"memory: at rest {rest}; publishing {EVENTS_UNDER_LOAD} school events", flush=True)
        load = school_load(EVENTS_UNDER_LOAD)
        started = time.monotonic()
        for i in range(0, len(load), CHUNK):
            send(load[i:i + CHUNK], running.amqp_url)
            for name, p in running.processes.items():
                peak[name] = max(peak[name], resident_mb(p.pid))
        drained = False
        while time.monotonic() - started < DRAIN_LIMIT:
            for name, p in running.processes.items():
                peak[name] = max(peak[name], resident_mb(p.pid))
            if not any(queue_depths(running.vhost).values()):
                drained = True
                break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        after = {name: resident_mb(p.pid) for name, p in running.processes.items()}
        refused = dead_letters(running.vhost)
    rows = [("bare Python interpreter", f"{baseline:.0f} MB", "baseline")]
    rows += [(f"{name} resident memory",
              f"{rest[name]:.0f} MB at rest, {peak[name]:.0f} MB peak under load, {after[name]:.0f} MB after",
              "≤ 150 MB at rest") for name in rest]
    rows.append(("load", f"{EVENTS_UNDER_LOAD:,} school events (every sis example), "
                         f"{'drained' if drained else 'NOT drained'} in {seconds:.0f} s, {refused:,} dead-lettered "
                         f"(copies that a domain rule refuses)", ""))
    over = [name for name in rest if rest[name] > 150]
    record("memory", "Resident memory of the processes", rows, notes=(
        "Resident set size (VmRSS) of each process, one process per service plus the gateway, each on "
        "its own Python interpreter (nameko, eventlet, SQLAlchemy, kombu, marshmallow and the contracts "
        "loaded). The gateway is idle here (school events reach it only through live updates); "
        "its load is the surge's. "
        + (f"Over the target at rest: {', '.join(over)}." if over else "Every process is within the target at rest.")))
    return {"baseline": baseline, "rest": rest, "peak": peak, "after": after, "drained": drained}
