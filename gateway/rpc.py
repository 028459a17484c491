"""RPC from the gateway to the services, in nameko's wire protocol, shared by every request.

nameko's standalone proxy serves one caller at a time and turns its timeout into a torn-down
connection. Here one reply queue and one green thread that reads it serve every concurrent
request: a call publishes its request and waits on its own event with its own deadline, so a
dashboard fires its calls at once and a slow service costs only its own tile. Every request goes
in the gateway's own name (its AMQP ``user_id``), the one caller the services answer for a parent.
"""
from __future__ import annotations

import json
import logging
import uuid

import amqp
import eventlet
from eventlet.event import Event
from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.exceptions import MethodNotFound, RemoteError, deserialize

import servicekit.rpc  # noqa: F401  (domain errors cross RPC as themselves)
from contracts import trust
from servicekit.broker import drain, keep_connected
from servicekit.config import as_user, user_of
from servicekit.errors import Unavailable

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"


class ServiceUnavailable(Exception):
    """The service did not answer within the deadline (down, overloaded or not deployed)."""

    def __init__(self, service: str, method: str):
        super().__init__(f"{service}.{method} did not answer in time")
        self.service, self.method = service, method


# Every way a service cannot answer now, met alike by every caller (routes, tiles, the family
# lookup): no answer in time, the method not offered yet, a bug of its own, or something it needs
# out of reach (its database, Keycloak, the mail server).
CANNOT_ANSWER = (ServiceUnavailable, MethodNotFound, RemoteError, Unavailable)


class RpcClient:
    def __init__(self, amqp_url: str, timeout: float = 5.0, caller: str = trust.GATEWAY):
        """``caller``: the broker user the requests go in the name of; the gateway but for a
        method that names another caller (identity's code mail, called so in its tests)."""
        self.amqp_url = as_user(amqp_url, caller)
        self.timeout = timeout
        self.reply_key = str(uuid.uuid4())
        self.reply_queue = f"rpc.reply-{caller}-{self.reply_key}"
        self._pending: dict[str, Event] = {}
        self._publish_lock = Semaphore()
        self._publisher = None
        self._thread = None
        self._stopping = False
        self._listening = Event()
        self.connected = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, wait: float = 10) -> None:
        self._thread = eventlet.spawn(self._listen)
        with eventlet.Timeout(wait):
            self._listening.wait()

    def stop(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.kill()
        if self._publisher is not None:
            self._publisher[0].release()

    # -- calls --------------------------------------------------------------------------------

    def call(self, service: str, method: str, *args, options: dict | None = None, timeout: float | None = None,
             correlation_id: str | None = None):
        return self.call_async(service, method, *args, options=options, correlation_id=correlation_id).result(timeout)

    def call_async(self, service: str, method: str, *args, options: dict | None = None,
                   correlation_id: str | None = None) -> "PendingCall":
        """Send ``service.method(*args, **options)``; the answer waits in the returned call."""
        call_id = str(uuid.uuid4())
        done = Event()
        self._pending[call_id] = done
        headers = {"nameko.correlation_id": correlation_id} if correlation_id else {}
        body = json.dumps({"args": list(args), "kwargs": options or {}})
        try:
            self._publish(body, f"{service}.{method}", call_id, headers)
        except (OSError, amqp.exceptions.AMQPError) as exc:
            self._pending.pop(call_id, None)
            log.warning("could not send %s.%s: %s", service, method, exc)
            return PendingCall(self, service, method, call_id, None)
        return PendingCall(self, service, method, call_id, done)

    def _publish(self, body: str, routing_key: str, call_id: str, headers: dict) -> None:
        message = amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                               reply_to=self.reply_key, correlation_id=call_id, application_headers=headers,
                               user_id=user_of(self.amqp_url))
        with self._publish_lock:
            for attempt in (1, 2):
                try:
                    if self._publisher is None:
                        connection = Connection(self.amqp_url, heartbeat=0, connect_timeout=3)
                        connection.connect()
                        self._publisher = (connection, connection.channel())
                    self._publisher[1].basic_publish(message, exchange=RPC_EXCHANGE, routing_key=routing_key)
                    return
                except (OSError, amqp.exceptions.AMQPError):
                    # A broken publisher connection is replaced once, then the caller hears.
                    if self._publisher is not None:
                        self._publisher[0].release()
                    self._publisher = None
                    if attempt == 2:
                        raise

    def service(self, name: str) -> "ServiceProxy":
        return ServiceProxy(self, name)

    # -- replies ------------------------------------------------------------------------------

    def _listen(self) -> None:
        keep_connected(self.amqp_url, self._replies, lambda: self._stopping, "RPC replies", on_lost=self._lost)

    def _replies(self, connection) -> None:
        channel = connection.channel()
        channel.exchange_declare(RPC_EXCHANGE, "topic", durable=True, auto_delete=False)
        channel.queue_declare(self.reply_queue, exclusive=True, auto_delete=True)
        channel.queue_bind(self.reply_queue, RPC_EXCHANGE, self.reply_key)
        channel.basic_consume(self.reply_queue, callback=self._on_reply, no_ack=True)
        self.connected = True
        if not self._listening.ready():
            self._listening.send()
        drain(connection, lambda: self._stopping)

    def _lost(self) -> None:
        self.connected = False

    def _on_reply(self, message) -> None:
        done = self._pending.pop(message.properties.get("correlation_id"), None)
        if done is not None:  # else: its caller gave up at the deadline
            done.send(json.loads(message.body))


class ServiceProxy:
    """``client.service(name).<method>(*args, **kwargs)``: one service's methods called in attribute
    form (scripts and tests), as nameko's proxies do."""

    def __init__(self, client: RpcClient, service: str):
        self._client, self._service = client, service

    def __getattr__(self, method: str):
        return lambda *args, **kwargs: self._client.call(self._service, method, *args, options=kwargs)


class PendingCall:
    def __init__(self, client: RpcClient, service: str, method: str, call_id: str, done: Event | None):
        self.client, self.service, self.method, self.call_id, self.done = client, service, method, call_id, done

    def result(self, timeout: float | None = None):
        """The answer; a domain error of the service raised as itself; ``ServiceUnavailable``
        after ``timeout`` seconds without an answer."""
        if self.done is None:
            raise ServiceUnavailable(self.service, self.method)
        reply = self.done.wait(self.client.timeout if timeout is None else timeout)
        if reply is None:
            self.client._pending.pop(self.call_id, None)
            raise ServiceUnavailable(self.service, self.method)
        if reply.get("error"):
            raise deserialize(reply["error"])
        return reply.get("result")
