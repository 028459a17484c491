"""School ingestion: ``AbsenceRecorded`` (``BENCH_EVENTS``, 20,000) through the publisher into
attendance's projection.

The baseline is bare pika draining the same messages the way the service's consumer does (one
batch of prefetch, one ``multiple`` ack per batch), so that the ratio measures the service's work.
The machine is shared and its speed moved 3x within an hour, so three bare drains and three
drains by one attendance process alternate in one run (bare, service, bare, …), each on a fresh
vhost (and database, process) so that each starts equal; the table gives every run, the medians,
their spread and the ratio of the medians. Then, on fresh state again: one process while the
publisher sends, two processes, and a rebuild of the projections from the store.
Event-to-projection latency is the time from the publisher stamping an event to the commit that
stored it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
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
from servicekit.consumer import EventStream

from tests.support import create_vhost, delete_vhost, send, stop_processes

from .report import record

ROOT = Path(__file__).resolve().parent.parent
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
CHUNK = 500
ROUNDS = 3
# How attendance's consumer batches (it keeps the entrypoint's defaults): the bare drain takes
# the same prefetch and acknowledges in the same groups.
_defaults = inspect.signature(EventStream).parameters
BATCH_SIZE = _defaults["batch_size"].default
MAX_WAIT = _defaults["max_wait"].default


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
    bound like attendance's, drained by pika as ``servicekit.consumer`` drains: prefetch of one
    batch, a batch closed at ``BATCH_SIZE`` messages or ``MAX_WAIT`` after its first, then one
    ``multiple`` ack for it; returns events/s from the consume to the last ack."""
    queue = f"bench.bare.{uuid.uuid4().hex[:6]}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare("sis.events", "topic", durable=True)
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(queue, "sis.events", "AbsenceRecorded")
    publish_now(amqp_url, envelopes)
    channel.queue_unbind(queue, "sis.events", "AbsenceRecorded")
    channel.basic_qos(prefetch_count=BATCH_SIZE)
    pending: list[int] = []  # delivery tags of the open batch
    received, first_at = 0, None
    started = last_seen = time.perf_counter()
    channel.basic_consume(queue, lambda _channel, method, _props, _body: pending.append(method.delivery_tag))
    while received < len(envelopes) and time.perf_counter() - last_seen < 5:
        if len(pending) < BATCH_SIZE:
            wait = 0.1 if first_at is None else max(first_at + MAX_WAIT - time.perf_counter(), 0.001)
            connection.process_data_events(time_limit=wait)
        now = time.perf_counter()
        if pending and first_at is None:
            first_at = last_seen = now
        if pending and (len(pending) >= BATCH_SIZE or now >= first_at + MAX_WAIT):
            channel.basic_ack(pending[-1], multiple=True)
            received += len(pending)
            pending.clear()
            first_at, last_seen = None, now
    seconds = time.perf_counter() - started
    channel.queue_delete(queue)
    connection.close()
    assert received == len(envelopes), f"bare drain got {received} of {len(envelopes)}"
    return received / seconds


@contextmanager
def fresh_vhost():
    name = f"bench{os.getpid()}{uuid.uuid4().hex[:6]}"
    amqp_url = create_vhost(name)
    try:
        yield amqp_url
    finally:
        delete_vhost(name)


@contextmanager
def fresh_database():
    """attendance's database, migrated and empty; yields (its URL, an engine on it)."""
    base_pg = os.environ["PORTAL_PG_URL_BASE"]
    database_url = f"{base_pg}/bench_attendance"
    admin = create_engine(f"{base_pg}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_attendance WITH (FORCE)"))
    migrations.upgrade("attendance", database_url)
    engine = create_engine(database_url)
    try:
        yield database_url, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS bench_attendance WITH (FORCE)"))
        admin.dispose()


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


def service_drain(envelopes: list[Envelope]) -> float:
    """One attendance process, newly started on a fresh vhost and database, draining a full queue."""
    with fresh_vhost() as amqp_url, fresh_database() as (database_url, engine), \
            attendance_processes(1, amqp_url, database_url) as (processes, _):
        return ingest(amqp_url, engine, envelopes, processes, backlog=True)["rate"]


def spread(rates: list[float]) -> str:
    return (f"median {statistics.median(rates):,.0f} events/s ({min(rates):,.0f}–{max(rates):,.0f}); "
            f"runs: {', '.join(f'{rate:,.0f}' for rate in rates)}")


def main() -> dict:
    print(f"ingestion: {ROUNDS} rounds of a bare then an attendance drain of {EVENTS} events", flush=True)
    bare, one, loads = [], [], []
    for n in range(1, ROUNDS + 1):
        loads.append(os.getloadavg()[0])
        with fresh_vhost() as amqp_url:
            bare.append(bare_drain(amqp_url, absences(EVENTS)))
        one.append(service_drain(absences(EVENTS)))
        print(f"ingestion: round {n}: bare {bare[-1]:,.0f} events/s, attendance {one[-1]:,.0f} events/s, "
              f"load {loads[-1]:.2f}", flush=True)
    loads.append(os.getloadavg()[0])
    with fresh_vhost() as amqp_url, fresh_database() as (database_url, engine):
        with attendance_processes(1, amqp_url, database_url) as (processes, _):
            rest_mb = resident_mb(processes[0].pid)
            live = ingest(amqp_url, engine, absences(EVENTS), processes)
        with attendance_processes(2, amqp_url, database_url) as (processes, _):
            two = ingest(amqp_url, engine, absences(EVENTS), processes, backlog=True)
        rebuilt = rebuild_projections("attendance", database_url)
    ratio = statistics.median(one) / statistics.median(bare)
    record("ingestion", "School ingestion (attendance)", [
        ("events", f"{EVENTS:,} AbsenceRecorded per drain", ""),
        ("publisher (pika, pipelined confirms)", f"{live['publish_rate']:,.0f} events/s", ""),
        (f"bare pika drain of a full queue (prefetch {BATCH_SIZE}, acks grouped as the service's), "
         f"{ROUNDS} runs", spread(bare), "baseline"),
        (f"attendance, 1 process, drain of a full queue, {ROUNDS} runs", spread(one), "≥ 4,000/s"),
        ("ratio of the medians, 1 process",
         f"{ratio:.2f} (each round's: {', '.join(f'{s / b:.2f}' for s, b in zip(one, bare))})", "≥ 0.7"),
        ("load average (1 min) at each round's start; after the rounds",
         f"{', '.join(f'{load:.2f}' for load in loads[:-1])}; {loads[-1]:.2f}", "2 cores"),
        ("attendance, 2 processes, drain of a full queue", f"{two['rate']:,.0f} events/s", "≥ 6,500/s"),
        ("attendance, 1 process, while the publisher sends", f"{live['rate']:,.0f} events/s", "publishing included"),
        ("event → projection latency while the publisher sends",
         f"p50 {live['p50']:,.0f} ms, p99 {live['p99']:,.0f} ms", ""),
        ("projection rebuild", f"{rebuilt['events_per_second']:,} events/s ({rebuilt['events']} events)",
         "≥ 20,000/s"),
        ("attendance resident memory", f"{rest_mb:.0f} MB at rest, {live['peak_mb']:.0f} MB peak under load",
         "≤ 150 MB at rest"),
    ], notes=f"Bare and attendance drains alternate in one run, {ROUNDS} of each (bare, attendance, bare, …), "
             "so that both see the machine as it is at that moment; medians, the spread (min–max) and the "
             "ratio of the medians are given. Bare drain: the events published into a quorum queue of its "
             "own on a fresh vhost, then drained by pika with the service consumer's prefetch and acks "
             f"(one multiple ack per batch of up to {BATCH_SIZE} messages or what came within "
             f"{MAX_WAIT * 1000:.0f} ms), timed from the consume to the last ack. Attendance drain: one "
             "process newly started on a fresh vhost and database, paused (SIGSTOP) while the events are "
             "published, then resumed and timed until its projection holds all of them. The two-process, "
             "live and rebuild figures come after the rounds, on fresh state again. Publisher, services, "
             "RabbitMQ and PostgreSQL share the machine's 2 cores with other work, so absolute rates move "
             "from run to run: compare the ratio, beside the load average. Every event is also stored "
             "(inbox) and validated against its contract.")
    return {"bare": bare, "one": one, "ratio": ratio, "live": live, "two": two, "rebuild": rebuilt,
            "load": loads}
