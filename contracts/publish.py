"""The school-system publisher: validate a JSON-lines batch of events, then publish it.

    python -m contracts.publish FILE.jsonl [--dry-run] [--amqp-url URL] [--correlation-id ID]
    python -m contracts.publish --bench 20000 [--amqp-url URL]

Each line is a full envelope, or the shorthand {"type": ..., "subject": ..., "data": ...} that is
completed with a new id, the current time, the latest version, source `sis` and the batch's
correlation id. Every line is validated before anything is sent; one invalid line and nothing is
published (exit 1). Publishing uses publisher confirms with a bounded window of unconfirmed
messages (pipelined, not one round trip per message) and the `mandatory` flag, so that a message
no queue takes (no service bound yet) is reported instead of silently dropped (exit 2).
"""
import argparse
import collections
import dataclasses
import datetime as dt
import json
import os
import pathlib
import sys
import time
import uuid
from dataclasses import dataclass, field

import pika
from pika.spec import Basic

from . import EVENTS, Envelope, InvalidEvent, message_properties, parse
from .amqp import EXCHANGE_TYPE

SCHOOL_SYSTEM = "sis"
SHORTHAND_FIELDS = {"type", "subject", "data"}
DEFAULT_WINDOW = 10_000  # bounded: about 6 MB of unconfirmed events at most
EXAMPLES = pathlib.Path(__file__).resolve().parent / "examples"


class PublishError(RuntimeError):
    """The broker refused, lost track of, or could not route some of the events."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclass
class PublishResult:
    sent: int = 0
    confirmed: int = 0
    nacked: list = field(default_factory=list)    # event ids the broker refused
    unroutable: list = field(default_factory=list)  # event ids no queue was bound for
    seconds: float = 0.0
    error: str | None = None

    @property
    def rate(self):
        return self.confirmed / self.seconds if self.seconds else 0.0


def default_amqp_url():
    url = os.environ.get("PORTAL_AMQP_URL")
    if url:
        return url
    base = os.environ.get("PORTAL_AMQP_URL_BASE")
    if base:
        return base.rstrip("/") + "/portal"
    raise SystemExit("PORTAL_AMQP_URL ou PORTAL_AMQP_URL_BASE requis / "
                     "PORTAL_AMQP_URL or PORTAL_AMQP_URL_BASE is required (or --amqp-url)")


def new_correlation_id():
    return f"lot-{dt.date.today().isoformat()}-{uuid.uuid4().hex[:12]}"


def read_batch(lines, correlation_id):
    """Validate every line; returns (envelopes, [(line number, InvalidEvent)])."""
    envelopes, problems, first_line_of = [], [], {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
        except ValueError as error:
            problems.append((number, InvalidEvent(f"Not JSON ({error}).", None, code="not_json",
                                                  reason_fr=f"n'est pas du JSON ({error})")))
            continue
        try:
            if isinstance(body, dict) and "id" not in body and set(body) <= SHORTHAND_FIELDS:
                event = _complete(body, correlation_id)
            else:
                event = parse(body)
            if event.source != SCHOOL_SYSTEM:
                raise InvalidEvent(f"This publisher sends school-system events only (source "
                                   f"{SCHOOL_SYSTEM}), not {event.type}.", "type",
                                   code="not_a_school_event",
                                   reason_fr=f"cet outil ne publie que les événements des "
                                             f"systèmes scolaires (source {SCHOOL_SYSTEM}), "
                                             f"pas {event.type}")
            if event.id in first_line_of:
                raise InvalidEvent(f"Duplicate id (also on line {first_line_of[event.id]}).",
                                   "id", code="duplicate",
                                   reason_fr=f"id en double (aussi à la ligne "
                                             f"{first_line_of[event.id]})")
        except InvalidEvent as error:
            problems.append((number, error))
            continue
        first_line_of[event.id] = number
        envelopes.append(event)
    return envelopes, problems


def _complete(body, correlation_id):
    for name in ("type", "subject", "data"):
        if name not in body:
            raise InvalidEvent("Missing data for required field.", name)
    source = EVENTS[body["type"]].source if body["type"] in EVENTS else SCHOOL_SYSTEM
    return Envelope.new(body["type"], source, body["subject"], body["data"], correlation_id)


def publish(envelopes, amqp_url, window=DEFAULT_WINDOW, timeout=300):
    """Publish envelopes to their `<source>.events` exchanges and wait for every confirm.

    Returns the number of events confirmed by the broker; raises PublishError when any was
    refused, unroutable, or the connection failed.
    """
    return send(envelopes, amqp_url, window, timeout).confirmed


def send(envelopes, amqp_url, window=DEFAULT_WINDOW, timeout=300):
    """Like `publish`, returning the PublishResult (counts, duration, rate)."""
    messages = []
    user = pika.URLParameters(amqp_url).credentials.username
    for envelope in envelopes:
        exchange, routing_key, properties = message_properties(envelope, user)
        messages.append((exchange, routing_key, envelope.to_json().encode("utf-8"),
                         pika.BasicProperties(**properties)))
    result = publish_messages(messages, amqp_url, window, timeout)
    if result.error or result.nacked or result.unroutable or result.confirmed != len(messages):
        raise PublishError(_failure(result, len(messages)), result)
    return result


def _failure(result, total):
    parts = [f"{result.confirmed}/{total} confirmed"]
    if result.error:
        parts.append(f"error: {result.error}")
    if result.nacked:
        parts.append(f"{len(result.nacked)} refused by the broker (first {result.nacked[0]})")
    if result.unroutable:
        parts.append(f"{len(result.unroutable)} not routed to any queue - is a service bound to "
                     f"the exchange? (first {result.unroutable[0]})")
    return "; ".join(parts)


def publish_messages(messages, amqp_url, window=DEFAULT_WINDOW, timeout=300):
    """Low level: publish pre-encoded (exchange, routing key, body, BasicProperties) tuples."""
    return _ConfirmedPublisher(messages, amqp_url, window, timeout).run()


class _ConfirmedPublisher:
    """pika's SelectConnection with at most `window` unconfirmed messages in flight."""

    def __init__(self, messages, amqp_url, window, timeout):
        self.messages = messages
        self.parameters = pika.URLParameters(amqp_url)
        self.window = window
        self.timeout = timeout
        self.result = PublishResult()
        self.unconfirmed = collections.deque()  # delivery tags in publish order
        self.channel = None
        self.started = None

    def run(self):
        self.connection = pika.SelectConnection(
            self.parameters, on_open_callback=self._on_connection_open,
            on_open_error_callback=self._on_connection_error,
            on_close_callback=lambda connection, reason: connection.ioloop.stop())
        self.connection.ioloop.call_later(self.timeout, self._on_timeout)
        self.connection.ioloop.start()
        return self.result

    def _fail(self, error):
        self.result.error = self.result.error or str(error)
        if self.connection.is_open:
            self.connection.close()

    def _on_connection_error(self, connection, error):
        self.result.error = f"cannot connect: {error!r}"
        connection.ioloop.stop()

    def _on_timeout(self):
        self._fail(f"timed out after {self.timeout} s")

    def _on_connection_open(self, connection):
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel):
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_confirm, callback=lambda frame: self._declare(
            sorted({exchange for exchange, _, _, _ in self.messages})))

    def _on_channel_closed(self, channel, reason):
        if self.result.confirmed + len(self.result.nacked) < len(self.messages):
            self._fail(f"channel closed: {reason!r}")
        elif self.connection.is_open:
            self.connection.close()

    def _declare(self, exchanges):
        """Check that the exchanges exist, one after the other: the services declare them, and a
        school system may only publish (a missing one closes the channel: nothing is sent)."""
        if not exchanges:
            self.started = time.perf_counter()
            self._pump()
            return
        self.channel.exchange_declare(exchanges[0], exchange_type=EXCHANGE_TYPE, durable=True, passive=True,
                                      callback=lambda frame: self._declare(exchanges[1:]))

    def _pump(self):
        while self.result.sent < len(self.messages) and len(self.unconfirmed) < self.window:
            exchange, routing_key, body, properties = self.messages[self.result.sent]
            self.channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
            self.result.sent += 1
            self.unconfirmed.append(self.result.sent)  # delivery tags count from 1
        if not self.unconfirmed and self.result.sent == len(self.messages):
            self.result.seconds = time.perf_counter() - self.started
            self.channel.close()

    def _on_confirm(self, frame):
        method = frame.method
        if method.multiple:
            done = []
            while self.unconfirmed and self.unconfirmed[0] <= method.delivery_tag:
                done.append(self.unconfirmed.popleft())
        else:
            self.unconfirmed.remove(method.delivery_tag)
            done = [method.delivery_tag]
        if isinstance(method, Basic.Ack):
            self.result.confirmed += len(done)
        else:
            self.result.nacked.extend(self.messages[tag - 1][3].message_id for tag in done)
        self._pump()

    def _on_return(self, channel, method, properties, body):
        self.result.unroutable.append(properties.message_id)


def bench_envelopes(count, correlation_id="bench"):
    """`count` distinct valid events (absences) to measure the publisher with."""
    template = parse(EXAMPLES.joinpath("AbsenceRecorded.json").read_text(encoding="utf-8"))
    return [dataclasses.replace(template, id=str(uuid.uuid4()), correlation_id=correlation_id)
            for _ in range(count)]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m contracts.publish",
        description="Valide puis publie des événements du système scolaire (JSON lines). / "
                    "Validates then publishes school-system events (JSON lines).")
    parser.add_argument("file", nargs="?", help="JSON-lines file, - for standard input")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate only / valider seulement")
    parser.add_argument("--amqp-url", help="default: $PORTAL_AMQP_URL, else "
                                           "$PORTAL_AMQP_URL_BASE/portal")
    parser.add_argument("--correlation-id", help="batch id given to shorthand lines")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW,
                        help="unconfirmed messages in flight")
    parser.add_argument("--bench", type=int, metavar="N",
                        help="publish N generated events and report the rate")
    args = parser.parse_args(argv)
    if args.bench:
        envelopes = bench_envelopes(args.bench)
    elif args.file:
        correlation_id = args.correlation_id or new_correlation_id()
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with stream:
            envelopes, problems = read_batch(stream, correlation_id)
        for number, problem in problems:
            print(f"ligne/line {number}: {problem.field or 'body'}: [{problem.code}] "
                  f"{problem.reason_fr} / {problem.reason}", file=sys.stderr)
        if problems:
            print(f"{len(problems)} ligne(s) invalide(s), rien n'est publié / "
                  f"{len(problems)} invalid line(s), nothing published", file=sys.stderr)
            return 1
        print(f"{len(envelopes)} événements valides / valid events")
        if args.dry_run:
            return 0
    else:
        parser.error("a FILE or --bench N is required")
    try:
        result = send(envelopes, args.amqp_url or default_amqp_url(), window=args.window)
    except PublishError as error:
        print(f"échec de la publication / publishing failed: {error}", file=sys.stderr)
        return 2
    print(f"{result.confirmed} événements publiés et confirmés en {result.seconds:.2f} s "
          f"({result.rate:.0f}/s) / events published and confirmed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
