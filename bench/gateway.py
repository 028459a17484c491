"""The gateway under load, with the whole stack running as processes on this machine.

1. A child's dashboard at a fixed 200 requests/s for 60 s, measured with locust, beside the same
   tool's figures for a trivial endpoint (``/api/v1/config``) in the same run.
2. Live updates: 500 server-sent event streams open; the time from the school system publishing
   ``AbsenceRecorded`` to each stream receiving it, p50 and p99.

Writes its table into docs/performance.md through ``bench.report.record``.
"""
from __future__ import annotations

import csv
import http.client
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

RATE = int(os.environ.get("BENCH_GATEWAY_RATE", "200"))
SECONDS = int(os.environ.get("BENCH_GATEWAY_SECONDS", "60"))
STREAMS = int(os.environ.get("BENCH_GATEWAY_STREAMS", "500"))
LIVE_EVENTS = int(os.environ.get("BENCH_GATEWAY_LIVE_EVENTS", "20"))
USERS = 50  # locust users, each at RATE / USERS requests per second

if os.environ.get("PORTAL_BENCH_PATH"):  # imported by locust as its locustfile
    from locust import HttpUser, constant_throughput, task

    class Parent(HttpUser):
        wait_time = constant_throughput(RATE / USERS)

        @task
        def get(self):
            self.client.get(os.environ["PORTAL_BENCH_PATH"], name=os.environ["PORTAL_BENCH_PATH"],
                            headers={"Authorization": f"Bearer {os.environ['PORTAL_BENCH_TOKEN']}"})


def main() -> None:
    from servicekit.green import patch

    patch()
    from tests import local_env

    local_env.load()
    from .report import record

    figures = run()
    dash, trivial, live = figures["dashboard"], figures["trivial"], figures["live"]
    record("gateway", "Gateway: child dashboard and live updates", [
        (f"dashboard at {RATE}/s for {SECONDS} s: requests, failures", f"{dash['count']}, {dash['failures']}",
         f"no errors; trivial endpoint: {trivial['count']}, {trivial['failures']}"),
        ("dashboard p50 / p99", f"{dash['p50']} ms / {dash['p99']} ms",
         f"p99 ≤ 100 ms; trivial endpoint: {trivial['p50']} ms / {trivial['p99']} ms"),
        ("dashboard achieved rate", f"{dash['rps']:.0f}/s", f"trivial endpoint: {trivial['rps']:.0f}/s"),
        (f"AbsenceRecorded → SSE, {STREAMS} streams open, p50 / p99", f"{live['p50']:.0f} ms / {live['p99']:.0f} ms",
         f"p99 ≤ 250 ms ({live['opened']} streams opened, {live['received']} of {live['expected']} deliveries)"),
    ], notes=f"""Load by locust ({USERS} users at a constant total of {RATE} requests/s, headless), against
the gateway (`python -m gateway`) and the six services each as its own process, RabbitMQ,
PostgreSQL and Keycloak on the same machine; the load tool shares the two cores. The dashboard
makes nine service calls and one link check (cached) per request. Live: {STREAMS} streams of one
parent, {LIVE_EVENTS} absences published one by one; each delivery's delay is measured from just
before the publish to its arrival on the stream. Load average at the end of the run:
{os.getloadavg()[0]:.1f}.""")


def run() -> dict:
    from sqlalchemy import create_engine, text

    from servicekit import migrations
    from servicekit.cli import SERVICES
    from tests.e2e.conftest import start_gateway, start_process
    from tests.gateway.stack import (KeycloakRealm, child_events, free_port, parent_verified, publish, request,
                                     school_events)
    from tests.support import create_vhost, delete_vhost, stop_processes

    name = f"bench_gateway_{os.getpid()}"
    amqp_url = create_vhost(name)
    logs = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    port = free_port()
    gateway_url = f"http://127.0.0.1:{port}"
    realm = KeycloakRealm(name.replace("_", "-"), gateway_url)
    admin = create_engine(f"{os.environ['PORTAL_PG_URL_BASE']}/postgres", isolation_level="AUTOCOMMIT")
    databases, running = [], []
    try:
        for service in SERVICES:
            database = f"{os.environ['PORTAL_PG_URL_BASE']}/{name}_{service}"
            databases.append(database.rsplit("/", 1)[1])
            migrations.upgrade(service, database)
            ops = free_port()
            env = dict(os.environ, PORTAL_AMQP_URL=amqp_url, PORTAL_DATABASE_URL=database, PORTAL_OPS_PORT=str(ops))
            running.append(start_process(service, ["servicekit", "run", service], env,
                                         f"http://127.0.0.1:{ops}/readyz", logs))
        env = dict(os.environ, PORTAL_AMQP_URL=amqp_url, PORTAL_GATEWAY_PORT=str(port), PORTAL_KEYCLOAK_REALM=realm.name)
        running.append(start_gateway("gateway", env, logs))

        email = f"bench.{uuid.uuid4().hex[:8]}@example.org"
        parent_id = realm.add_parent(email)
        org, school = "css-bench", "css-bench.ecole"
        student = f"{org}.3333333"
        publish(school_events(org, school) + child_events(org, school, "3333333", "Léa", email)
                + [parent_verified(parent_id, email)], amqp_url)
        token = realm.token(email)
        deadline = time.monotonic() + 30
        while request(gateway_url, "POST", "/api/v1/children", token, {
                "org_id": org, "last_name": "Gagnon", "first_name": "Léa", "birth_date": "2018-08-05",
                "student_number": "3333333"})[0] != 201:
            assert time.monotonic() < deadline, "the bench parent could not link the child"
            time.sleep(0.3)
        dashboard = f"/api/v1/children/{student}/dashboard"
        while request(gateway_url, "GET", dashboard, token)[2].get("stale"):
            assert time.monotonic() < deadline + 30, "the dashboard never came whole"
            time.sleep(0.3)

        figures = {"dashboard": _locust(gateway_url, dashboard, token, logs),
                   "trivial": _locust(gateway_url, "/api/v1/config", token, logs)}
        token = realm.token(email)  # fresh for the streams
        figures["live"] = _live(gateway_url, token, amqp_url, student, school)
        return figures
    finally:
        stop_processes(*running)
        with admin.connect() as conn:
            for database in databases:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        realm.delete()
        delete_vhost(name)


def _locust(url: str, path: str, token: str, logs: Path) -> dict:
    prefix = logs / f"locust-{path.strip('/').replace('/', '-')}"
    env = dict(os.environ, PORTAL_BENCH_PATH=path, PORTAL_BENCH_TOKEN=token)
    # locust exits 1 when any request failed; the failures are in its figures.
    run = subprocess.run([sys.executable, "-m", "locust", "-f", __file__, "--headless", "-u", str(USERS), "-r",
                          str(USERS), "-t", f"{SECONDS}s", "--host", url, "--csv", str(prefix), "--only-summary"],
                         env=env, capture_output=True, text=True, timeout=SECONDS + 120)
    if not Path(f"{prefix}_stats.csv").is_file():
        raise RuntimeError(f"locust did not run: {run.stderr[-2000:]}")
    with open(f"{prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == path)
    return {"count": int(row["Request Count"]), "failures": int(row["Failure Count"]), "p50": row["50%"],
            "p99": row["99%"], "rps": float(row["Requests/s"])}


def _live(url: str, token: str, amqp_url: str, student: str, school: str) -> dict:
    import eventlet
    from eventlet.queue import LightQueue

    from kombu import Connection

    import contracts
    from contracts import trust
    from tests.gateway.stack import absence
    from tests.support import user_url

    arrivals: LightQueue = LightQueue()
    host = url.removeprefix("http://")

    def listen():
        connection = http.client.HTTPConnection(host, timeout=120)
        connection.request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        arrivals.put(("open", response.status == 200, None))
        if response.status != 200:
            return
        event = None
        while True:
            line = response.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("id: ") and event == "AbsenceRecorded":
                arrivals.put(("event", line[4:], time.perf_counter()))

    listeners = [eventlet.spawn(listen) for _ in range(STREAMS)]
    opened = sum(1 for _ in range(STREAMS) if arrivals.get(timeout=60)[1])
    sent, delays = {}, []
    board = trust.school_user(student.split(".", 1)[0])
    with Connection(user_url(amqp_url, board)) as school_system:  # one open connection, as a school system keeps
        producer = school_system.Producer()
        for _ in range(LIVE_EVENTS):
            envelope = absence(student, school)
            exchange, routing_key, properties = contracts.message_properties(envelope, board)
            headers = properties.pop("headers")
            sent[envelope.id] = time.perf_counter()
            producer.publish(envelope.to_json(), exchange=exchange, routing_key=routing_key, headers=headers,
                             **properties)
            eventlet.sleep(0.5)
    deadline = time.monotonic() + 10
    while len(delays) < opened * LIVE_EVENTS and time.monotonic() < deadline:
        try:
            _, event_id, at = arrivals.get(timeout=max(deadline - time.monotonic(), 0.01))
        except Exception:
            break
        if event_id in sent:
            delays.append((at - sent[event_id]) * 1000)
    for listener in listeners:
        listener.kill()
    delays.sort()
    nothing = float("nan")  # shown as "nan ms": no stream received anything
    return {"p50": delays[len(delays) // 2] if delays else nothing,
            "p99": delays[max(int(len(delays) * 0.99) - 1, 0)] if delays else nothing,
            "received": len(delays), "expected": STREAMS * LIVE_EVENTS, "opened": opened}


if __name__ == "__main__":
    main()
