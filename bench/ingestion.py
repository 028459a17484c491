"""School ingestion: 20,000 ``AbsenceRecorded`` through the publisher into attendance's projection.

In one run, on one vhost and one fresh database: the same messages drained by bare pika
(prefetch 500, one ack per message) as the baseline; then one attendance process; then two; then
a rebuild of the projections from the store. Event-to-projection latency is the time from the
publisher stamping an event to the commit that stored it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pika
from sqlalchemy import create_engine, text

from contracts import Envelope
from servicekit import migrations
from servicekit.cli import rebuild_projections

from tests.support import create_vhost, delete_vhost, send, stop_processes

from .report import record

ROOT = Path(__file__).resolve().parent.parent
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
CHUNK = 500


def absences(count: int) -> list[Envelope]:
    students = [f"bench.{n:07d}" for n in range(500)]
    day = dt.date(2026, 11, 2)
    return [
        Envelope.new("AbsenceRecorded", "sis", students[n % 500], {
            "absence_id": f"bench-{uuid.uuid4().hex}", "student_id": students[n % 500], "school_id": "bench.school",
            "date": day + dt.timedelta(days=n % 20), "kind": "absence", "period": "full_day",
            "requires_justification": True}, "bench")
        for n in range(count)
    ]


def publish_now(amqp_url: str, envelopes: list[Envelope]) -> float:
    """Publish in chunks, each stamped with the time it is sent; returns events/s."""
    started = time.perf_counter()
    for i in range(0, len(envelopes), CHUNK):
        now = dt.datetime.now(dt.timezone.utc)
        send([dataclasses.replace(e, time=now) for e in envelopes[i:i + CHUNK]], amqp_url)
    return len(envelopes) / (time.perf_counter() - started)


def bare_drain(amqp_url: str, envelopes: list[Envelope]) -> float:
    """The baseline: the same messages, through the same publisher, into a plain quorum queue
    bound like attendance's, drained by pika with prefetch 500 and one ack per message;
    returns events/s of the drain."""
    queue = f"bench.bare.{uuid.uuid4().hex[:6]}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare("sis.events", "topic", durable=True)
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(queue, "sis.events", "AbsenceRecorded")
    publish_now(amqp_url, envelopes)
    channel.queue_unbind(queue, "sis.events", "AbsenceRecorded")
    channel.basic_qos(prefetch_count=500)
    received = 0
    started = time.perf_counter()
    for method, _, _ in channel.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        channel.basic_ack(method.delivery_tag)
        received += 1
        if received == len(envelopes):
            break
    seconds = time.perf_counter() - started
    channel.cancel()
    channel.queue_delete(queue)
    connection.close()
    assert received == len(envelopes), f"bare drain got {received} of {len(envelopes)}"
    return received / seconds


@contextmanager
def attendance_processes(count: int, amqp_url: str, database_url: str):
    env = dict(os.environ, PORTAL_AMQP_URL=amqp_url, PORTAL_DATABASE_URL=database_url)
    processes, ports = [], []
    for n in range(count):
        port = 18300 + n
        ports.append(port)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "servicekit", "run", "attendance"], cwd=ROOT,
            env=dict(env, PORTAL_OPS_PORT=str(port)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for port in ports:
            wait_ready(port)
        yield processes, ports
    finally:
        stop_processes(*processes)


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"attendance on ops port {port} was not ready after {timeout}s")


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ingest(amqp_url: str, engine, envelopes: list[Envelope], processes: list, backlog: bool = False) -> dict:
    """Publish and time until the projection holds every event. Live: the services consume while
    the publisher sends, so the figure includes publishing. Backlog: the services are paused
    (SIGSTOP) while the events are published, then resumed: the drain alone, comparable to the
    bare drain."""
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM absences")).scalar()
    if backlog:
        for process in processes:
            os.kill(process.pid, signal.SIGSTOP)
        publish_rate = publish_now(amqp_url, envelopes)
        for process in processes:
            os.kill(process.pid, signal.SIGCONT)
        started = time.perf_counter()
    else:
        started = time.perf_counter()
        publish_rate = publish_now(amqp_url, envelopes)
    peak = 0.0
    deadline = time.monotonic() + 300
    while True:
        with engine.connect() as conn:
            held = conn.execute(text("SELECT count(*) FROM absences")).scalar() - before
        peak = max([peak] + [resident_mb(p.pid) for p in processes])
        if held >= len(envelopes) or time.monotonic() > deadline:
            break
        # A count over the whole projection costs PostgreSQL a few ms: often enough to time a
        # drain of several seconds to 1%, seldom enough not to slow what is measured.
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    ids = [uuid.UUID(e.id) for e in envelopes]
    with engine.connect() as conn:
        latencies = sorted(conn.execute(text(
            "SELECT extract(epoch FROM recorded_at - time) FROM events WHERE event_id = ANY(:ids)"),
            {"ids": ids}).scalars())
        stored = conn.execute(text("SELECT count(*) FROM events WHERE event_id = ANY(:ids)"), {"ids": ids}).scalar()
    assert held == len(envelopes) == stored, f"projection holds {held}, store {stored} of {len(envelopes)}"
    quantiles = statistics.quantiles(latencies, n=100)
    return {"rate": len(envelopes) / seconds, "publish_rate": publish_rate, "p50": quantiles[49] * 1000,
            "p99": quantiles[98] * 1000, "peak_mb": peak}


def main() -> dict:
    base_pg = os.environ["PORTAL_PG_URL_BASE"]
    vhost = f"bench{os.getpid()}"
    amqp_url, database_url = create_vhost(vhost), f"{base_pg}/bench_attendance"
    admin = create_engine(f"{base_pg}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_attendance WITH (FORCE)"))
    migrations.upgrade("attendance", database_url)
    engine = create_engine(database_url)
    try:
        print(f"ingestion: preparing {EVENTS} events", flush=True)
        baseline = bare_drain(amqp_url, absences(EVENTS))
        with attendance_processes(1, amqp_url, database_url) as (processes, ports):
            rest_mb = resident_mb(processes[0].pid)
            live = ingest(amqp_url, engine, absences(EVENTS), processes)
            one = ingest(amqp_url, engine, absences(EVENTS), processes, backlog=True)
        with attendance_processes(2, amqp_url, database_url) as (processes, ports):
            two = ingest(amqp_url, engine, absences(EVENTS), processes, backlog=True)
        rebuilt = rebuild_projections("attendance", database_url)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS bench_attendance WITH (FORCE)"))
        admin.dispose()
        delete_vhost(vhost)
    ratio = one["rate"] / baseline
    record("ingestion", "School ingestion (attendance)", [
        ("events", f"{EVENTS} AbsenceRecorded per run", ""),
        ("publisher (pika, pipelined confirms)", f"{live['publish_rate']:,.0f} events/s", ""),
        ("bare pika drain of a full queue (prefetch 500, ack each)", f"{baseline:,.0f} events/s", "baseline"),
        ("attendance, 1 process, drain of a full queue", f"{one['rate']:,.0f} events/s", "≥ 4,000/s"),
        ("ratio to the bare drain, 1 process", f"{ratio:.2f}", "≥ 0.7"),
        ("attendance, 2 processes, drain of a full queue", f"{two['rate']:,.0f} events/s", "≥ 6,500/s"),
        ("attendance, 1 process, while the publisher sends", f"{live['rate']:,.0f} events/s", "publishing included"),
        ("event → projection latency while the publisher sends",
         f"p50 {live['p50']:,.0f} ms, p99 {live['p99']:,.0f} ms", ""),
        ("projection rebuild", f"{rebuilt['events_per_second']:,} events/s ({rebuilt['events']} events)",
         "≥ 20,000/s"),
        ("attendance resident memory", f"{rest_mb:.0f} MB at rest, {live['peak_mb']:.0f} MB peak under load",
         "≤ 150 MB at rest"),
    ], notes="Drain = the service paused (SIGSTOP) while 20,000 events are published, then resumed and "
             "timed until its projection holds all of them, like the bare drain. Publisher, services, "
             "RabbitMQ and PostgreSQL share the machine's 2 cores; every event is also stored (inbox) and "
             "validated against its contract.")
    return {"live": live, "one": one, "two": two, "baseline": baseline, "rebuild": rebuilt}
