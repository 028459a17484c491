"""The event consumer: a nameko entrypoint that takes events in batches.

nameko's ``@event_handler`` runs one worker and one transaction per message (~900 events/s here)
and acknowledges a message whose handler raised, losing it. This entrypoint instead:

* consumes the service's quorum queue ``<service>.<source>`` with a large prefetch and hands the
  handler up to ``batch_size`` events at once, so that one transaction applies them all;
* acknowledges only after the handler returned, i.e. after its transaction committed, with one
  ``multiple`` ack for the whole batch, in delivery order;
* reads and validates the next batch while a worker applies the previous one, so that parsing
  (CPU here) overlaps the database's work (on the other core);
* dead-letters at once, with the reason, a message that is not a valid event of its contract, or
  whose sender (the ``user_id`` RabbitMQ checked) may not speak for it (``contracts.trust``);
* when a batch fails, applies its events one by one so that the good ones go through, and sends
  the failing one to ``<queue>.retry.<n>`` queues that hold it for a growing delay and then give
  it back; after the last try it goes to ``<service>.dead-letter`` with the reason.

Redelivery after a crash is harmless: handlers admit events through the store's inbox.
"""
from __future__ import annotations

import logging
import socket
import time
import amqp
import eventlet
from eventlet.event import Event
from kombu import Connection
from nameko.extensions import Entrypoint

import contracts
from contracts import trust
from contracts.registry import SOURCES

from .broker import keep_connected
from .config import user_of
from .database import Database
from .errors import DomainError
from .ops import metrics_for
from .private import describe

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-portal-attempts"
REASON_HEADER = "x-portal-reason"
QUEUE_HEADER = "x-portal-queue"
# The sender of an event this service put back on its own queues (retries, dead letters): the
# copy goes in the service's own name, since the broker refuses any other user_id.
SPEAKER_HEADER = "x-portal-speaker"
# A message whose delivery kills the process again and again (so it is never retried by us)
# is dead-lettered by RabbitMQ itself after this many deliveries.
DELIVERY_LIMIT = 20


def dead_letter_queue(service: str) -> str:
    return f"{service}.dead-letter"


def declare_dead_letter_queue(channel, service: str) -> None:
    channel.queue_declare(dead_letter_queue(service), durable=True, auto_delete=False,
                          arguments={"x-queue-type": "quorum"})


def speaker_of(message, own_user: str) -> str | None:
    """The broker user a message really comes from: its ``user_id``, which RabbitMQ checked
    against the publishing connection; for a copy that this service (``own_user``) put on its
    own queues, the sender it recorded then."""
    user = message.properties.get("user_id")
    if user == own_user:
        return (message.properties.get("application_headers") or {}).get(SPEAKER_HEADER, user)
    return user


def copy_of(message, own_user: str, headers: dict) -> amqp.Message:
    """A persistent copy of ``message`` with ``headers``, to be published by ``own_user`` onto one
    of its own queues, its sender recorded."""
    speaker = speaker_of(message, own_user)
    headers = {key: value for key, value in headers.items() if key != SPEAKER_HEADER}
    if speaker:
        headers[SPEAKER_HEADER] = speaker
    properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
    properties.update(delivery_mode=2, user_id=own_user)
    return amqp.Message(message.body, application_headers=headers, **properties)


class Unprocessable(Exception):
    """Raised by a handler for an event that will never apply: it is dead-lettered at once with
    this reason instead of being retried. A DomainError (a rule the event breaks, e.g. a school
    year that has not begun) is treated the same way: trying again cannot change the answer."""


class EventStream(Entrypoint):
    """``@event_stream(source, types)``: the decorated method receives a list of
    ``contracts.Envelope`` and must apply them in one transaction, admitting them through
    ``servicekit.store.admit``; it returns the events it applied (the rest were duplicates).
    A service declares its streams with ``@event_streams(name)``."""

    def __init__(self, source: str, types: list[str], batch_size: int = 500, max_wait: float = 0.02,
                 **kwargs):
        self.source = source
        self.types = frozenset(types)
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.connected = False
        super().__init__(**kwargs)

    def setup(self):
        service = self.container.service_name
        config = self.container.config
        self.queue = f"{service}.{self.source}"
        self.dead_letters = dead_letter_queue(service)
        self.retry_delays = list(config.get("RETRY_DELAYS", [1, 5, 25]))
        self.amqp_uri = config["AMQP_URI"]
        self.user = user_of(self.amqp_uri)
        self.metrics = metrics_for(service)
        self._stopping = False

    def start(self):
        self._thread = self.container.spawn_managed_thread(self._run, identifier=f"consumer:{self.queue}")

    def stop(self):
        self._stopping = True
        self._thread.wait()

    def kill(self):
        self._thread.kill()

    def check_ready(self) -> str | None:
        return None if self.connected else f"broker: not consuming {self.queue}"

    # -- the loop ---------------------------------------------------------------------------

    def _run(self):
        keep_connected(self.amqp_uri, self._consume, lambda: self._stopping, f"consumer of {self.queue}",
                       on_lost=self._lost, first_wait=0.5, longest_wait=10)

    def _lost(self) -> None:
        self.connected = False

    def _declare(self, channel) -> None:
        channel.exchange_declare(contracts.exchange_for(self.source), "topic", durable=True, auto_delete=False)
        declare_dead_letter_queue(channel, self.container.service_name)
        channel.queue_declare(self.queue, durable=True, auto_delete=False, arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.dead_letters,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        })
        for event_type in sorted(self.types):
            channel.queue_bind(self.queue, contracts.exchange_for(self.source), event_type)
        for attempt, delay in enumerate(self.retry_delays, start=1):
            channel.queue_declare(f"{self.queue}.retry.{attempt}", durable=True, auto_delete=False, arguments={
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.queue,
            })

    def _consume(self, connection: Connection) -> None:
        channel = connection.channel()
        self._declare(channel)
        publisher = connection.channel()
        publisher.confirm_select()
        channel.basic_qos(0, max(self.batch_size, 1), False)
        pending: list[amqp.Message] = []
        channel.basic_consume(self.queue, callback=pending.append)
        self._connection = connection
        self.connected = True
        first_at = None  # when the oldest pending message arrived
        next_poll = 0.0
        applying = None  # the batch a worker is applying while the next one is read and parsed
        while not self._stopping:
            now = time.monotonic()
            if now >= next_poll:
                self._measure_queues(publisher)
                next_poll = now + 5
            if len(pending) < self.batch_size:
                wait = 0.1 if first_at is None else max(first_at + self.max_wait - now, 0.001)
                if applying is not None and not pending:
                    wait = 0.001
                try:
                    connection.drain_events(timeout=wait)
                except socket.timeout:
                    connection.heartbeat_check()
            if pending and first_at is None:
                first_at = time.monotonic()
            if pending and (len(pending) >= self.batch_size or time.monotonic() >= first_at + self.max_wait):
                batch = _Batch(list(pending), self._sort_out(pending, publisher))
                pending[:] = []
                first_at = None
                if applying is not None:
                    self._finish(applying, channel, publisher)
                applying = self._start(batch)
            elif applying is not None and (applying.done is None or applying.done.ready()):
                self._finish(applying, channel, publisher)
                applying = None
        if applying is not None:
            self._finish(applying, channel, publisher)

    def _measure_queues(self, channel) -> None:
        _, depth, _ = channel.queue_declare(self.queue, passive=True)
        self.metrics.queue_depth.labels(self.queue).set(depth)
        _, dead, _ = channel.queue_declare(self.dead_letters, passive=True)
        self.metrics.dead_letter_depth.set(dead)

    # -- one batch ----------------------------------------------------------------------------

    def _sort_out(self, messages: list[amqp.Message], publisher) -> list[tuple[amqp.Message, contracts.Envelope]]:
        """The valid events of the batch; the others are dead-lettered with the reason."""
        parsed = []
        for count, message in enumerate(messages, start=1):
            if count % 50 == 0:
                eventlet.sleep(0)  # parsing is CPU work: let the RPC workers of this process answer meanwhile
            try:
                envelope = contracts.parse(message.body)
            except contracts.InvalidEvent as exc:
                self._dead_letter(publisher, message, f"invalid event: {exc}", "invalid")
                continue
            if envelope.type not in self.types or envelope.source != self.source:
                self._dead_letter(publisher, message, f"unexpected event {envelope.source}/{envelope.type}",
                                  "unexpected")
                continue
            refusal = trust.refusal(speaker_of(message, self.user), envelope)
            if refusal:
                self._dead_letter(publisher, message, f"refused: {refusal}", "refused")
                continue
            parsed.append((message, envelope))
        return parsed

    def _start(self, batch: "_Batch") -> "_Batch":
        if batch.parsed:
            batch.started = time.perf_counter()
            batch.done = self._spawn([envelope for _, envelope in batch.parsed])
        return batch

    def _finish(self, batch: "_Batch", channel, publisher) -> None:
        """Wait for the batch's worker; if it failed, apply its events one by one so that only
        the failing ones are retried; then acknowledge the whole batch."""
        if batch.done is not None:
            ok, applied = _outcome(self._apply([envelope for _, envelope in batch.parsed], batch.done))
            if not ok:
                applied = []
                for message, envelope in batch.parsed:
                    result, exc_info = self._apply([envelope])
                    ok, one = _outcome((result, exc_info))
                    if ok:
                        applied.extend(one)
                    elif isinstance(exc_info[1], (Unprocessable, DomainError)):
                        self._dead_letter(publisher, message, one, "unprocessable")
                        self.metrics.events_handled.labels(self.source, envelope.type, "dead_lettered").inc()
                    else:
                        self._retry_or_dead_letter(publisher, message, envelope, one)
            self.metrics.event_handling.labels(self.source).observe(time.perf_counter() - batch.started)
            self._count(batch.parsed, applied)
        channel.basic_ack(batch.messages[-1].delivery_tag, multiple=True)
        if batch.done is not None:
            self._forget_dead_letters([e.data["parent_id"] for e in applied or () if e.type == "ParentAccountClosed"])

    def _forget_dead_letters(self, parent_ids: list[str]) -> None:
        """Law 25: once the service has applied a closed account's closure, its dead letters
        naming the parent go too."""
        if not parent_ids:
            return
        from .deadletters import forget  # which reads the queues this module declares

        channel = self._connection.channel()
        try:
            removed = forget(channel, self.container.service_name, parent_ids)
        finally:
            channel.close()
        if removed:
            log.info("%d dead letters of a closed account removed from %s", removed, self.dead_letters)

    def _count(self, parsed, applied) -> None:
        applied_ids = {e.id for e in applied or ()}
        newest = None
        for _, envelope in parsed:
            outcome = "applied" if envelope.id in applied_ids else "duplicate"
            self.metrics.events_handled.labels(self.source, envelope.type, outcome).inc()
            newest = envelope.time if newest is None or envelope.time > newest else newest
        if newest is not None:
            self.metrics.consumer_lag.labels(self.source).set(max(time.time() - newest.timestamp(), 0))

    def _apply(self, envelopes, done: Event | None = None):
        """(result, exc_info) of the service method on ``envelopes`` (``done``: its run already
        under way). While it fails because the service's database is away, wait for the database
        and run it again: an outage is no fault of the events and must not spend their tries nor
        send them to the dead letters. Nothing is acknowledged meanwhile."""
        while True:
            result = (done or self._spawn(envelopes)).wait()
            done = None
            if result[1] is None or self._stopping or not self._database_away():
                return result
            log.warning("%s: the database is away; %d events wait for it", self.queue, len(envelopes))
            while not self._stopping and self._database_away():
                try:  # keeps the broker's heartbeats; deliveries wait in the pending list
                    self._connection.drain_events(timeout=1)
                except socket.timeout:
                    self._connection.heartbeat_check()

    def _database_away(self) -> bool:
        return any(extension.check_ready() for extension in self.container.extensions
                   if isinstance(extension, Database))

    def _spawn(self, envelopes) -> Event:
        """Run the service method on ``envelopes`` in a worker; the event fires with
        (result, exc_info) when the worker is done."""
        done = Event()

        def handle_result(worker_ctx, result, exc_info):
            done.send((result, exc_info))
            return result, exc_info

        context = {"correlation_id": envelopes[0].correlation_id}
        self.container.spawn_worker(self, (envelopes,), {}, context_data=context, handle_result=handle_result)
        return done

    def _retry_or_dead_letter(self, publisher, message, envelope, reason: str) -> None:
        headers = dict(message.properties.get("application_headers") or {})
        attempts = int(headers.get(ATTEMPTS_HEADER, 0))
        if attempts < len(self.retry_delays):
            headers[ATTEMPTS_HEADER] = attempts + 1
            log.warning("event %s failed (%s); try %d in %ss", envelope.id, reason, attempts + 2,
                        self.retry_delays[attempts], extra={"event_id": envelope.id})
            self._publish(publisher, message, f"{self.queue}.retry.{attempts + 1}", headers)
            self.metrics.events_handled.labels(self.source, envelope.type, "retried").inc()
        else:
            self._dead_letter(publisher, message, reason, "handler_failed")
            self.metrics.events_handled.labels(self.source, envelope.type, "dead_lettered").inc()

    def _dead_letter(self, publisher, message, reason: str, kind: str) -> None:
        headers = dict(message.properties.get("application_headers") or {})
        headers[REASON_HEADER] = reason[:1000]
        headers[QUEUE_HEADER] = self.queue
        log.error("dead-lettering message %s from %s: %s", message.properties.get("message_id"), self.queue, reason)
        self._publish(publisher, message, self.dead_letters, headers)
        self.metrics.dead_letters.labels(self.source, kind).inc()

    def _publish(self, publisher, message, queue: str, headers: dict) -> None:
        # Confirmed before the original is acknowledged: at least once, never lost.
        publisher.basic_publish_confirm(copy_of(message, self.user, headers), exchange="", routing_key=queue)


event_stream = EventStream.decorator


def event_streams(service: str, **options):
    """``@event_streams(name)``: one ``event_stream`` for each source ``service`` takes in from,
    of the types the contracts' ``consumers`` say (``contracts.consumed_by``), the one list of
    who takes in what."""

    def decorate(method):
        for source in SOURCES:
            types = contracts.consumed_by(service, source)
            if types:
                method = event_stream(source, types, **options)(method)
        return method

    return decorate


class _Batch:
    def __init__(self, messages, parsed):
        self.messages, self.parsed = messages, parsed
        self.done: Event | None = None
        self.started = 0.0


def _outcome(worker_result) -> tuple[bool, object]:
    """(True, events applied) or (False, the reason it failed, without a database's values)."""
    result, exc_info = worker_result
    if exc_info is None:
        return True, result or []
    return False, describe(exc_info[1])[:500]
