"""The relay: publishes the service's own events from its store to ``<service>.events``.

It reads past its cursor in position order, publishes a batch with publisher confirms (all sent,
then all confirms awaited), and only then advances the cursor, in the same database. A crash in
between publishes again; consumers dedupe by event id. One replica relays at a time: the one
holding a PostgreSQL advisory lock.

An idle relay sleeps until a commit that appended events notifies it (``LISTEN``), the broker
sends a frame (heartbeats) or a slow safety-net interval passes: an idle process costs almost
nothing, and an event still leaves as soon as it is committed.
"""
from __future__ import annotations

import logging
import os
import socket

import amqp
import eventlet
import psycopg
from eventlet.green import select
from kombu import Connection
from nameko.extensions import DependencyProvider
from sqlalchemy import text

import contracts

from . import store
from .config import user_of
from .database import make_engine
from .ops import metrics_for

log = logging.getLogger(__name__)

LEADER_LOCK = 0x5054_4C01


class Relay(DependencyProvider):
    batch_size = 500
    safety_interval = 5.0  # seconds: a notification lost with a dropped connection waits at most this

    def setup(self):
        self.service = self.container.service_name
        self.amqp_uri = self.container.config["AMQP_URI"]
        self.engine = make_engine(self.container.config["DATABASE_URL"], pool_size=2)
        self.metrics = metrics_for(self.service)
        self.broker_ok = False
        self._stopping = False
        self._woken, self._wake = os.pipe()  # stop() writes to it: an idle relay stops at once

    def start(self):
        self._thread = self.container.spawn_managed_thread(self._run, identifier="relay")

    def stop(self):
        self._stopping = True
        os.write(self._wake, b"x")
        self._thread.wait()
        self.engine.dispose()
        os.close(self._woken)
        os.close(self._wake)

    def kill(self):
        self._thread.kill()

    def check_ready(self) -> str | None:
        return None if self.broker_ok else "broker: relay not connected"

    def _run(self):
        while not self._stopping:
            try:
                with self.engine.connect() as leader:
                    try:
                        self._lead(leader)
                    except BaseException:
                        # Its session may hold the leader lock: close it rather than pool it, or
                        # the next try, on another pooled session, waits as its own follower.
                        leader.invalidate()
                        raise
            except Exception as exc:  # database or broker gone: retry; the cursor is durable
                self.broker_ok = False
                log.warning("relay of %s interrupted (%s); retrying", self.service, exc)
                eventlet.sleep(1)

    def _lead(self, leader) -> None:
        while not leader.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK}).scalar():
            leader.rollback()
            self.broker_ok = True  # a follower is ready: the leader publishes
            if self._stopping:
                return
            eventlet.sleep(2)
        leader.commit()
        with Connection(self.amqp_uri, heartbeat=30, connect_timeout=5) as broker:
            channel = broker.channel()
            channel.exchange_declare(contracts.exchange_for(self.service), "topic", durable=True, auto_delete=False)
            channel.confirm_select()
            settled: list[tuple[int, bool, bool]] = []  # (delivery tag, multiple, acked)
            channel.events["basic_ack"].add(lambda tag, multiple: settled.append((tag, multiple, True)))
            channel.events["basic_nack"].add(lambda tag, multiple: settled.append((tag, multiple, False)))
            self.broker_ok = True
            listener = self._listen()
            try:
                self._relay(broker, channel, settled, listener)
            finally:
                listener.close()
            leader.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK})

    def _listen(self) -> psycopg.Connection:
        """A connection of its own that hears this database's commits of new own events."""
        # The engine's own connection arguments: a URL of several hosts (a primary and its
        # replicas, target_session_attrs=read-write) reaches the same server as the engine.
        _, arguments = self.engine.dialect.create_connect_args(self.engine.url)
        listener = psycopg.connect(**arguments, autocommit=True, connect_timeout=5)
        listener.execute(f"LISTEN {store.OWN_EVENTS_CHANNEL}")
        return listener

    def _relay(self, broker, channel, settled, listener) -> None:
        tag = 0
        while not self._stopping:
            with self.engine.begin() as conn:
                rows = store.unpublished(conn, self.service, self.service, self.batch_size)
                self.metrics.outbox_backlog.set(store.backlog(conn, self.service, self.service) if rows else 0)
                if rows:
                    tag = self._publish(broker, channel, rows, tag, settled, user_of(self.amqp_uri))
                    store.advance(conn, self.service, rows[-1].position)
                    self.metrics.relay_published.inc(len(rows))
            if not rows:
                self._wait(broker, listener)

    def _wait(self, broker, listener) -> None:
        """Until there may be something to publish. The broker's frames are read meanwhile: its
        heartbeats unanswered, it would declare the connection dead."""
        ready, _, _ = select.select([listener.fileno(), broker.connection.sock, self._woken], [], [],
                                    self.safety_interval)
        if listener.fileno() in ready:
            for _ in listener.notifies(timeout=0):
                pass
        if broker.connection.sock in ready:
            try:
                broker.drain_events(timeout=0)
            except socket.timeout:
                pass
        broker.heartbeat_check()

    @staticmethod
    def _publish(broker, channel, rows, tag: int, settled: list, user: str) -> int:
        first = tag + 1
        for row in rows:
            envelope = store.envelope_of(row)
            exchange, routing_key, properties = contracts.message_properties(envelope, user)
            headers = properties.pop("headers")
            channel.basic_publish(amqp.Message(envelope.to_json(), application_headers=headers, **properties),
                                  exchange=exchange, routing_key=routing_key)
            tag += 1
        with eventlet.Timeout(30, socket.timeout("publisher confirms")):
            while not _settled_through(settled, first, tag):
                broker.drain_events(timeout=30)
        refused = any(not acked for _, _, acked in settled)
        settled.clear()
        if refused:
            raise amqp.exceptions.AMQPError("the broker refused events; publishing them again")
        return tag


def _settled_through(settled: list, first: int, last: int) -> bool:
    """Whether the broker has answered for every delivery tag from ``first`` to ``last``."""
    through, singles = 0, set()
    for tag, multiple, _ in settled:
        if multiple:
            through = max(through, tag)
        else:
            singles.add(tag)
    return all(t <= through or t in singles for t in range(first, last + 1))
