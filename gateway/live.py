"""Live updates: one bus consumer per gateway process fans events out to parents' open streams.

The gateway keeps nothing durable, so its queue is exclusive and goes away with the process: a
stream only promises what happens while it is open (the page loads the rest through the API).
Each open stream knows the children of its parent; ``ChildLinked``/``ChildUnlinked`` keep that
set current, so an unlinked child's news stops at once.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import eventlet
from eventlet.queue import LightQueue, Full

import contracts
from contracts import trust
from servicekit.broker import drain, keep_connected
from servicekit.config import as_user
from servicekit.schooltime import school_today

log = logging.getLogger(__name__)

# What a parent's open page hears about, per source: the school's news about a child, and what
# the parents themselves did (seen on their other devices).
SOURCES = {
    "sis": ("AbsenceRecorded", "AbsenceCancelled", "BulletinPublished", "AssignmentResultPublished",
            "MinistryResultPublished", "HomeworkPublished", "DetentionRecorded", "TimetablePublished",
            "StatementIssued", "PaymentRecorded", "TaxReceiptIssued", "MessagePublished"),
    "attendance": ("AbsenceDeclared", "AbsenceMotivated"),
    "linking": ("ChildLinked", "ChildUnlinked"),
}
STREAM_BACKLOG = 100  # events an idle reader may fall behind before its stream is ended
# Open streams a parent may hold on one gateway: a page each, on a few devices. Each costs a
# green thread and a fan-out; without a cap one account could hold thousands.
MAX_STREAMS_PER_PARENT = 6


class TooManyStreams(Exception):
    """The parent already holds ``MAX_STREAMS_PER_PARENT`` open streams."""


@dataclass(frozen=True)
class Child:
    student_id: str
    school_id: str
    org_id: str


@dataclass(eq=False)
class Stream:
    """One open SSE connection of a parent."""

    parent_id: str
    children: dict[str, Child]
    queue: LightQueue = field(default_factory=lambda: LightQueue(STREAM_BACKLOG))
    overflowed: bool = False

    def push(self, item: dict) -> None:
        try:
            self.queue.put_nowait(item)
        except Full:
            # A reader that cannot keep up gets its stream closed and reconnects for a fresh view.
            self.overflowed = True


class LiveHub:
    def __init__(self, amqp_url: str, on_link_change=None, metrics=None):
        self.amqp_url = as_user(amqp_url, trust.GATEWAY)
        self.queue = f"gateway.live.{uuid.uuid4()}"
        self.on_link_change = on_link_change or (lambda parent_id: None)
        self.metrics = metrics
        self.streams: dict[str, set[Stream]] = {}  # parent id -> open streams
        self.connected = False
        self._stopping = False
        self._thread = None

    def start(self) -> None:
        self._thread = eventlet.spawn(self._run)

    def stop(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.kill()

    # -- streams ------------------------------------------------------------------------------

    def open(self, parent_id: str, children: list[Child]) -> Stream:
        streams = self.streams.setdefault(parent_id, set())
        if len(streams) >= MAX_STREAMS_PER_PARENT:
            raise TooManyStreams(parent_id)
        stream = Stream(parent_id, {c.student_id: c for c in children})
        streams.add(stream)
        if self.metrics:
            self.metrics.sse_streams.inc()
        return stream

    def close(self, stream: Stream) -> None:
        streams = self.streams.get(stream.parent_id)
        if streams is not None and stream in streams:
            streams.discard(stream)
            if not streams:
                del self.streams[stream.parent_id]
            if self.metrics:
                self.metrics.sse_streams.dec()

    # -- the bus ------------------------------------------------------------------------------

    def _run(self) -> None:
        keep_connected(self.amqp_url, self._follow, lambda: self._stopping, "live updates", on_lost=self._lost)

    def _follow(self, connection) -> None:
        channel = connection.channel()
        channel.queue_declare(self.queue, exclusive=True, auto_delete=True, arguments={"x-max-length": 100_000})
        for source, types in SOURCES.items():
            exchange = contracts.exchange_for(source)
            channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
            for event_type in types:
                channel.queue_bind(self.queue, exchange, event_type)
        channel.basic_consume(self.queue, callback=self._on_message, no_ack=True)
        self.connected = True
        drain(connection, lambda: self._stopping)

    def _lost(self) -> None:
        self.connected = False

    def _on_message(self, message) -> None:
        try:
            envelope = contracts.parse(message.body)
        except contracts.InvalidEvent as exc:
            log.warning("live updates: ignored an invalid event (%s)", exc)
            return
        refusal = trust.refusal(message.properties.get("user_id"), envelope)
        if refusal:
            log.warning("live updates: ignored event %s (%s)", envelope.id, refusal)
            return
        self.dispatch(envelope)

    def dispatch(self, envelope) -> None:
        data = envelope.data
        if envelope.type in ("ChildLinked", "ChildUnlinked"):
            self._link_changed(envelope)
            return
        if envelope.type == "MessagePublished":
            self._message(envelope)
            return
        if _not_visible_yet(data):
            return
        student_id = data.get("student_id")
        followers = [stream for streams in self.streams.values() for stream in streams
                     if student_id in stream.children]
        if not followers:
            return
        # Ids only: the page reads the content through the API, where each service applies its
        # display rules (a hidden group average, a statement's amounts never travel here).
        payload = {key: value for key, value in envelope.wire_data().items() if key.endswith("_id")}
        for stream in followers:
            stream.push(_item(envelope, student_id, payload))

    def _message(self, envelope) -> None:
        audience = envelope.data["audience"]
        for streams in self.streams.values():
            for stream in streams:
                for child in stream.children.values():
                    if _addressed_to(audience, child):
                        # The message itself is read through the inbox, which knows the groups.
                        stream.push(_item(envelope, child.student_id, {"message_id": envelope.data["message_id"]}))

    def _link_changed(self, envelope) -> None:
        data = envelope.data
        parent_id = data["parent_id"]
        self.on_link_change(parent_id)
        for stream in self.streams.get(parent_id, ()):
            if envelope.type == "ChildLinked":
                stream.children[data["student_id"]] = Child(data["student_id"], data["school_id"], data["org_id"])
            else:
                stream.children.pop(data["student_id"], None)
            stream.push(_item(envelope, data["student_id"], {}))


def _addressed_to(audience: dict, child: Child) -> bool:
    scope = audience["scope"]
    if scope == "org":
        return audience["org_id"] == child.org_id
    if scope in ("school", "group"):
        return audience.get("school_id") == child.school_id
    return audience.get("student_id") == child.student_id


def _not_visible_yet(data: dict) -> bool:
    """A document the school dates in the future must not even be announced before that day."""
    visible_from = data.get("visible_from")
    return visible_from is not None and visible_from > school_today()


def _item(envelope, student_id: str, data: dict) -> dict:
    return {"id": envelope.id, "type": envelope.type, "student_id": student_id,
            "time": envelope.time.isoformat(), "data": data}

