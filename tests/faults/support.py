"""What the fault tests drive: a real service process, a school system publishing a burst, a
writer of the service's own events, a watch on ``/readyz``, and the tally of what arrived."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import eventlet
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import contracts
from contracts import Envelope
from contracts.publish import EXAMPLES, PublishError
from servicekit import store
from servicekit.schooltime import school_today
from tests.support import send, stop_processes

REPO = Path(__file__).resolve().parents[2]


def within(check, timeout: float, interval: float = 0.5) -> bool:
    """Whether ``check`` holds within ``timeout`` seconds; the test reports its figures before
    it asserts, so that a failure shows what was lost."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServiceProcess:
    """``python -m servicekit run <service>`` as a child process, as an operator starts it."""

    def __init__(self, service: str, amqp_url: str, database_url: str, log_path: Path, **env):
        self.service, self.log_path = service, log_path
        self.ops_port = free_port()
        self.env = {**os.environ, "PORTAL_AMQP_URL": amqp_url, "PORTAL_DATABASE_URL": database_url,
                    "PORTAL_OPS_PORT": str(self.ops_port), **env}
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "ServiceProcess":
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write(f"--- start {self.starts}\n")
            self.process = subprocess.Popen([sys.executable, "-m", "servicekit", "run", self.service],
                                            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def readiness(self) -> int | None:
        """The HTTP status of ``/readyz``, or None when nothing answers."""
        return readyz_status(f"http://127.0.0.1:{self.ops_port}", timeout=2)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.readiness() != 200:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.service} exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.service} not ready after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        stop_processes(self.process)

    def metric(self, name: str, **labels) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels``."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/metrics", timeout=5) as answer:
            lines = answer.read().decode().splitlines()
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines
                   if line.startswith(name + "{") and all(w in line for w in wanted))

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def absences(count: int, tag: str, students: int = 500) -> list[Envelope]:
    """``count`` distinct absences of one school, spread over ``students`` children, all of one
    board (css-faults), whose school system publishes them."""
    template = contracts.parse((EXAMPLES / "AbsenceRecorded.json").read_text())
    burst = []
    for n in range(count):
        student = f"css-faults.{tag}-{n % students}"
        burst.append(dataclasses.replace(
            template, id=str(uuid.uuid4()), subject=student, correlation_id=f"faults-{tag}",
            data={**template.data, "absence_id": f"{tag}-{n}", "student_id": student, "school_id": "css-faults.ecole"}))
    return burst


class School:
    """A school system publishing a burst in chunks, each with publisher confirms; a chunk not
    wholly confirmed (the broker went away) is published again, as a careful publisher does:
    the consumers dedupe by event id."""

    def __init__(self, events: list[Envelope], amqp_url: str, chunk: int = 1000, pause: float = 0,
                 deadline: float = 120):
        self.events, self.amqp_url, self.chunk, self.pause, self.deadline = events, amqp_url, chunk, pause, deadline
        self.published = 0      # messages put on the wire, repeats included
        self.confirmed = 0      # distinct events the broker confirmed
        self.failures: list[str] = []

    def run(self) -> "School":
        give_up = time.monotonic() + self.deadline
        for first in range(0, len(self.events), self.chunk):
            chunk = self.events[first:first + self.chunk]
            while True:
                self.published += len(chunk)
                try:
                    send(chunk, self.amqp_url, timeout=20)
                    break
                except PublishError as error:
                    self.failures.append(str(error)[:200])
                if time.monotonic() > give_up:
                    raise AssertionError(f"the school could not publish for {self.deadline}s: {self.failures[-3:]}")
                time.sleep(0.5)
            self.confirmed += len(chunk)
            time.sleep(self.pause)
        return self

    def spawn(self):
        return eventlet.spawn(self.run)


def declaration(n: int, tag: str) -> Envelope:
    """An own event of attendance: a parent's declaration, on a stream of its own."""
    day = school_today() + timedelta(days=1 + n % 60)
    return Envelope.new("AbsenceDeclared", "attendance", f"css-faults.{tag}-d{n}", {
        "declaration_id": str(uuid.uuid4()), "student_id": f"css-faults.{tag}-d{n}",
        "school_id": "css-faults.ecole", "parent_id": str(uuid.uuid4()), "start_date": day, "end_date": day,
        "kind": "full_day", "reason_code": "MAL"}, correlation_id=f"faults-{tag}")


class OwnEvents:
    """Appends the service's own events into its store, one transaction each, as its commands
    do, so that the relay has work; a transaction whose outcome the database did not tell (it
    went away) is tried again, and counts once it is known to be stored."""

    def __init__(self, database_url: str, count: int, tag: str, pace: float = 0.005, deadline: float = 120):
        self.engine = create_engine(database_url, pool_pre_ping=True, connect_args={"connect_timeout": 3})
        self.count, self.tag, self.pace, self.deadline = count, tag, pace, deadline
        self.stored: list[str] = []
        self.failures = 0

    def run(self) -> "OwnEvents":
        give_up = time.monotonic() + self.deadline
        for n in range(self.count):
            event = declaration(n, self.tag)
            while True:
                try:
                    with self.engine.begin() as conn:
                        store.append(conn, 0, [event])
                    break
                except store.ConcurrencyError:
                    break  # the earlier try was committed after all
                except Exception:  # noqa: BLE001  (the database is away: the outage under test)
                    self.failures += 1
                    if time.monotonic() > give_up:
                        raise
                    time.sleep(0.2)
            self.stored.append(event.id)
            time.sleep(self.pace)
        self.engine.dispose()
        return self

    def spawn(self):
        return eventlet.spawn(self.run)


class Listener:
    """A durable queue of the test's own on ``<service>.events``: what the relay published."""

    def __init__(self, amqp_url: str, source: str):
        self.amqp_url = amqp_url
        self.exchange = Exchange(contracts.exchange_for(source), "topic", durable=True)
        self.queue = Queue(f"faults.{source}-events", self.exchange, routing_key="#", durable=True,
                           queue_arguments={"x-queue-type": "quorum"})
        with Connection(amqp_url) as connection:
            self.queue(connection.channel()).declare()

    def drain(self) -> list[str]:
        """The event ids waiting in the queue, repeats included, removed from it."""
        ids = []
        with Connection(self.amqp_url) as connection:
            channel = connection.channel()
            while (message := channel.basic_get(self.queue.name, no_ack=True)) is not None:
                ids.append(message.properties["message_id"])
        return ids


class ReadinessWatch:
    """Polls ``/readyz`` in the background and keeps every (monotonic time, status) it saw."""

    def __init__(self, process: ServiceProcess, every: float = 0.2):
        self.process, self.every = process, every
        self.seen: list[tuple[float, int | None]] = []
        self._thread = eventlet.spawn(self._run)

    def _run(self):
        while True:
            self.seen.append((time.monotonic(), self.process.readiness()))
            time.sleep(self.every)

    def stop(self) -> None:
        self._thread.kill()

    def between(self, start: float, end: float = float("inf")) -> list[int | None]:
        return [status for at, status in self.seen if start <= at <= end]


def _of_tag(tag: str | None) -> tuple[str, dict]:
    """The condition on ``absences`` that keeps the absences of ``absences(count, tag)`` only (all
    of them without a tag: a database of the test's own), and its parameters."""
    return ("WHERE absence_id LIKE :prefix", {"prefix": f"{tag}-%"}) if tag else ("", {})


def absence_rows(database_url: str, tag: str | None = None) -> int:
    """How many absences the service's projection holds (cheap enough to poll)."""
    engine = create_engine(database_url, poolclass=NullPool)
    where, parameters = _of_tag(tag)
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM absences {where}"), parameters).scalar_one()


def projection_tally(database_url: str, tag: str | None = None) -> dict:
    """What the service holds of the school's events: store rows, distinct ids, projection rows."""
    engine = create_engine(database_url, poolclass=NullPool)
    where, parameters = _of_tag(tag)
    with engine.connect() as conn:
        ids = [str(row[0]) for row in conn.execute(
            text("SELECT event_id FROM events WHERE source = 'sis'"
                 + (" AND correlation_id = :correlation" if tag else "")),
            {"correlation": f"faults-{tag}"} if tag else {})]
        rows = conn.execute(text(f"SELECT count(*) FROM absences {where}"), parameters).scalar_one()
    return {"store_rows": len(ids), "distinct_ids": len(set(ids)), "absence_rows": rows, "ids": set(ids)}


def count_effects(database_url: str) -> None:
    """From now on, count every row the projection writes into ``absences``, in a table of the
    test's own. A BEFORE INSERT row trigger fires for every row an upsert proposes, whether it
    inserts it or updates the row already there, and its count is committed or rolled back with
    the transaction that applied the event: an absence applied twice is counted twice, though
    its row is the same. (No duplicate store rows proves nothing: the store's unique event id
    forbids them.)"""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS test_effects (absence_id text NOT NULL)"))
        conn.execute(text("CREATE OR REPLACE FUNCTION test_count_effect() RETURNS trigger LANGUAGE plpgsql AS $$ "
                          "BEGIN INSERT INTO test_effects VALUES (NEW.absence_id); RETURN NEW; END $$"))
        conn.execute(text("CREATE OR REPLACE TRIGGER test_count_effect BEFORE INSERT ON absences "
                          "FOR EACH ROW EXECUTE FUNCTION test_count_effect()"))


def stop_counting_effects(database_url: str) -> None:
    """Remove what ``count_effects`` added (from a database the test shares with others)."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS test_count_effect ON absences"))
        conn.execute(text("DROP FUNCTION IF EXISTS test_count_effect()"))
        conn.execute(text("DROP TABLE IF EXISTS test_effects"))


def effects(database_url: str, tag: str | None = None) -> dict:
    """What ``count_effects`` counted: rows written, and distinct absences among them."""
    engine = create_engine(database_url, poolclass=NullPool)
    where, parameters = _of_tag(tag)
    with engine.connect() as conn:
        written, distinct = conn.execute(
            text(f"SELECT count(*), count(DISTINCT absence_id) FROM test_effects {where}"), parameters).one()
    return {"written": written, "absences": distinct}


def waiting_for_the_database(process: "ServiceProcess") -> bool:
    """Whether the service said that events it received wait for its database (the consumer's
    log line when a batch fails because the database is away)."""
    return "the database is away" in process.log_path.read_text(errors="replace")


def queue_depths(amqp_url: str, service: str, source: str = "sis") -> dict:
    """Messages still waiting in the service's queue and in its dead letters."""
    with Connection(amqp_url) as connection:
        channel = connection.channel()
        depths = {}
        for queue in (f"{service}.{source}", f"{service}.dead-letter"):
            _, depths[queue], _ = channel.queue_declare(queue, passive=True)
    return depths


def report(title: str, **figures) -> None:
    """What a fault test sent, what arrived, what was lost or duplicated (shown with -s, and in
    pytest's captured output when a test fails)."""
    print(f"\n== {title}")
    for name, value in figures.items():
        print(f"   {name:<34} {json.dumps(value, default=str)}")


class CuttableLink:
    """A TCP relay on loopback in front of a real server, which a test cuts (open connections
    dropped, new ones refused, as when the server is down or unreachable) and restores; the
    server itself stays up for every other test that shares it."""

    def __init__(self, port: int):
        self.target = ("127.0.0.1", port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections: set = set()
        self.listener = self.acceptor = None
        self.restore()

    @property
    def is_cut(self) -> bool:
        return self.acceptor is None

    def restore(self) -> None:
        self.listener = eventlet.listen(("127.0.0.1", self.port))
        self.acceptor = eventlet.spawn(self._accept, self.listener)

    def cut(self) -> None:
        self.acceptor.kill()
        self.acceptor = None
        self.listener.close()
        for connection in list(self.connections):
            _shut(connection)  # its pipe wakes, and closes it

    def _accept(self, listener) -> None:
        while True:
            client, _ = listener.accept()
            try:
                server = eventlet.connect(self.target)
            except OSError:  # the server itself is down: so is the link
                client.close()
                continue
            self.connections |= {client, server}
            eventlet.spawn(self._pipe, client, server)
            eventlet.spawn(self._pipe, server, client)

    def _pipe(self, source, sink) -> None:
        """Copies one way; each socket is read, and closed, by its own pipe only (a socket closed
        under another green thread's read would hand its file number to the next one opened)."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _shut(sink)
            _shut(source)
            self.connections.discard(source)
            source.close()


def _shut(connection) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def readyz_status(ops_url: str, timeout: float) -> int | None:
    """The HTTP status of ``<ops_url>/readyz`` (a service's or a gateway's ops port), or None when
    nothing answers."""
    try:
        with urllib.request.urlopen(f"{ops_url}/readyz", timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None
