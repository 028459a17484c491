"""Staying connected to RabbitMQ: the one reconnect loop of every long-lived AMQP user (the event
consumer, the gateway's live feed and its RPC replies).

A broker restart, a lost network or a missed heartbeat ends a connection; its user declares
again what it needs on a new one, after a wait that doubles up to a limit so that a broker that
is down is not hammered.
"""
from __future__ import annotations

import logging
import socket

import amqp
import eventlet
from kombu import Connection

log = logging.getLogger(__name__)

LOST = (OSError, amqp.exceptions.AMQPError, socket.timeout)


def keep_connected(amqp_url: str, session, stopping, name: str, on_lost=None,
                   first_wait: float = 0.2, longest_wait: float = 5.0) -> None:
    """Run ``session(connection)`` on a connection to the broker, again on a new one each time
    the broker is lost, until ``stopping()``; ``on_lost()`` runs each time a session ends."""
    wait = first_wait
    while not stopping():
        try:
            with Connection(amqp_url, heartbeat=30, connect_timeout=5) as connection:
                connection.connect()
                wait = first_wait
                session(connection)
        except LOST as exc:
            log.warning("%s lost the broker (%s); reconnecting", name, exc)
        finally:
            if on_lost is not None:
                on_lost()
        if not stopping():
            eventlet.sleep(wait)
            wait = min(wait * 2, longest_wait)


def drain(connection, stopping) -> None:
    """Deliver the connection's messages to their callbacks until ``stopping()``, checking the
    heartbeat whenever a second passes without one."""
    while not stopping():
        try:
            connection.drain_events(timeout=1)
        except socket.timeout:
            connection.heartbeat_check()
