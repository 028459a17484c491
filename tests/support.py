"""Helpers shared by the tests and the benchmarks (``time.sleep`` is green once the tests have
patched the standard library)."""
import contextlib
import json
import os
import subprocess
import time
import urllib.error
import uuid
from urllib.parse import quote, unquote, urlsplit

from kombu import Connection, Exchange, Queue
from sqlalchemy import text

import contracts.publish
from contracts import Envelope, trust
from contracts.registry import SOURCES, exchange_for
from scripts.broker_users import api, grant
from servicekit.config import as_user
from servicekit.errors import NotFound

# This test session's own vhost and database names start with it.
SESSION = f"t{os.getpid()}"


def service_config(service: str, amqp: str, database: str, **overrides) -> dict:
    """A service's nameko config on the vhost of ``amqp``, connecting in the service's own name."""
    return {
        "AMQP_URI": user_url(amqp, service), "DATABASE_URL": database, "OPS_PORT": 0, "OPS_HOST": "127.0.0.1",
        "max_workers": 10, "serializer": "json", "RETRY_DELAYS": [0.2, 0.5], **overrides,
    }


def wait_ready(container, timeout: float = 30) -> None:
    ops = next(e for e in container.extensions if type(e).__name__ == "Operations")
    deadline = time.monotonic() + timeout
    while ops.readiness_problems():
        if time.monotonic() > deadline:
            raise AssertionError(f"{container.service_name} not ready: {ops.readiness_problems()}")
        time.sleep(0.05)


def stop_processes(*processes: subprocess.Popen) -> None:
    """SIGTERM to all at once, so that they shut down side by side; SIGKILL to any still running
    20 s later."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def eventually(check, timeout: float = 15, interval: float = 0.05):
    """Poll ``check`` until it returns a truthy value; fail with its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        time.sleep(interval)


def create_vhost(name: str, env=os.environ) -> str:
    """A RabbitMQ vhost of our own (through the management API) where the services and the gateway
    have their permissions; returns its AMQP URL, the administrator's (``user_url`` gives another
    user's). ``env``: the settings of the node (another node than the local servers' for fault
    tests)."""
    api("PUT", f"vhosts/{name}", env=env)
    api("PUT", f"permissions/{name}/{quote(env['PORTAL_AMQP_USER'])}",
        {"configure": ".*", "write": ".*", "read": ".*"}, env=env)
    url = f"{env['PORTAL_AMQP_URL_BASE']}/{name}"
    _nodes[urlsplit(url).port] = env
    grant(name, trust.users(), env=env)
    _granted.update((url, user) for user in trust.users())
    return url


_nodes: dict[int, dict] = {}  # AMQP port -> the settings of its node, for the vhosts made here
_granted: set[tuple[str, str]] = set()  # (vhost URL, user) given its permissions by this process


def use_node(amqp_url: str, env) -> None:
    """Grant users on ``amqp_url``'s port through the management API of ``env`` (another broker
    than the local servers', e.g. the cluster of ``make cluster``)."""
    _nodes[urlsplit(amqp_url).port] = env


def user_url(amqp_url: str, user: str) -> str:
    """``amqp_url`` in the name of broker user ``user`` (a service, the gateway, a board's school
    system ``sis.<org>``, or a test's own service), which gets its permissions there first."""
    if (amqp_url, user) not in _granted:
        parts = urlsplit(amqp_url)
        # A test's own service is no consumer the contracts name: it may take in from any source.
        own_service = user not in trust.users() and not user.startswith(trust.SCHOOL_USER_PREFIX)
        grant(unquote(parts.path[1:]), [user], env=_nodes.get(parts.port, os.environ),
              sources=SOURCES if own_service else None)
        _granted.add((amqp_url, user))
    return as_user(amqp_url, user)


def sender_of(envelope) -> str:
    """The broker user that may publish ``envelope``: its board's school system, or its service."""
    if envelope.source == trust.SCHOOL_SYSTEM:
        return trust.school_user(trust.board_of(envelope) or "unknown")
    return envelope.source


def send(envelopes, amqp_url: str, **options) -> list:
    """Publish events as their senders would, each in its own name, in the given order: the
    ``contracts.publish.send`` result of each run of events of one sender."""
    runs: list[tuple[str, list]] = []
    for envelope in envelopes:
        sender = sender_of(envelope)
        if runs and runs[-1][0] == sender:
            runs[-1][1].append(envelope)
        else:
            runs.append((sender, [envelope]))
    return [contracts.publish.send(run, user_url(amqp_url, sender), **options)
            for sender, run in runs]


def publish(envelopes, amqp_url: str, **options) -> int:
    """``send``, counting the events the broker confirmed."""
    return sum(result.confirmed for result in send(envelopes, amqp_url, **options))


def delete_vhost(name: str, env=os.environ) -> None:
    """Remove a vhost; one already gone is what was wanted."""
    try:
        api("DELETE", f"vhosts/{name}", env=env)
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise


# -- a family as the services see it ------------------------------------------------------------

def school_event(event_type: str, data: dict, subject: str, correlation_id: str = "batch-test") -> Envelope:
    """An event of the school system's."""
    return Envelope.new(event_type, "sis", subject, data, correlation_id=correlation_id)


def link_event(event_type: str, parent_id: str, student_id: str, school_id: str | None = None, **data) -> Envelope:
    """``ChildLinked`` (of a child of ``school_id``, proven by email) or ``ChildUnlinked``, as
    linking publishes them."""
    data = {"parent_id": parent_id, "student_id": student_id, **data}
    if event_type == "ChildLinked":
        data = {"school_id": school_id, "org_id": "css-test", "method": "email", **data}
    return Envelope.new(event_type, "linking", parent_id, data, correlation_id="link-test")


def count(engine, table: str, **where) -> int:
    """How many rows of ``table`` hold the values of ``where``, by column."""
    condition = " AND ".join(f'"{column}" = :{column}' for column in where) or "true"
    with engine.connect() as conn:
        return conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE {condition}'), where).scalar()


def answers(ask, parent_id: str, student_id: str) -> bool:
    """Whether a service answers ``ask`` about the child rather than refusing it as not found: it
    does once the child is linked to the parent there."""
    try:
        ask(parent_id, student_id)
    except NotFound:
        return False
    return True


def linked_child(amqp_url: str, ask, school_id: str, parent_id: str | None = None, first=()) -> tuple[str, str]:
    """A new child of ``school_id`` linked to ``parent_id`` (a new parent unless given), once the
    service answers ``ask`` about it; ``first``: the events published before the link."""
    parent_id, child = parent_id or str(uuid.uuid4()), f"css-test.{uuid.uuid4().hex[:8]}"
    publish([*first, link_event("ChildLinked", parent_id, child, school_id)], amqp_url)
    eventually(lambda: answers(ask, parent_id, child))
    return parent_id, child


@contextlib.contextmanager
def listening(amqp_url: str, source: str):
    """What the school system and the other services receive from ``source``: yields
    ``received(event_type=None)``, the events so far (of that type), as JSON."""
    queue = Queue(f"listener-{uuid.uuid4().hex[:6]}", Exchange(exchange_for(source), "topic", durable=True),
                  routing_key="#", auto_delete=True)
    with Connection(amqp_url) as connection:
        received = []

        def take(body, message):
            received.append(json.loads(body) if isinstance(body, (str, bytes)) else body)
            message.ack()

        with connection.Consumer(queue, callbacks=[take], accept=["json", "application/json"]):
            def drain(event_type=None):
                try:
                    connection.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
                return [e for e in received if event_type in (None, e["type"])]
            yield drain
