"""The event store of one service: append-only, and at once its outbox and its inbox.

One row per event with a global ``position``. A service's own events belong to streams with a
version per event, and the unique (stream, version) pair is the optimistic concurrency check.
Events taken in from other sources keep their ``id``: its unique constraint makes a redelivered
event a no-op, so the store is also the idempotent inbox, and replaying it rebuilds every
projection. The relay publishes the rows whose ``source`` is the service itself.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import (
    BigInteger, Column, DateTime, Identity, Index, Integer, MetaData, Table, Text, UniqueConstraint,
    Uuid, func, select, text, tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

import contracts
from contracts import Envelope
from contracts.fields import FORGOTTEN
from contracts.registry import personal_fields
from contracts.replay import load_stored

from . import shredding

metadata = MetaData()

events = Table(
    "events", metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("stream_id", Text, nullable=False),
    # Null for events taken in from other sources: their order is theirs, not ours.
    Column("stream_version", Integer),
    Column("type", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("causation_id", Text),
    Column("data", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),
    Index("events_source_position_idx", "source", "position"),
)

# The events that name a parent, for their export (``about_parent``).
PARENT_NAMED = events.c.data["parent_id"].astext
Index("events_parent_idx", PARENT_NAMED, postgresql_where=PARENT_NAMED.is_not(None))

relay_cursors = Table(
    "relay_cursors", metadata,
    Column("relay", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# Writers of a service's own events take this transaction lock before their rows get positions,
# so those positions become visible in order and the relay, reading past its cursor, never
# skips a row that an older, slower transaction commits later.
OWN_EVENTS_LOCK = 0x5054_4C00


class ConcurrencyError(Exception):
    """Another transaction appended to the stream first; reload the aggregate and try again."""


def _rows(conn: Connection, envelopes: list[Envelope], first_version: int | None) -> tuple[list[dict], dict]:
    """The rows of ``envelopes``, their personal fields sealed (``shredding``), and the keys
    used (None: a forgotten person); stream versions from ``first_version`` on, or none for
    events taken in."""
    wire = [e.wire_data() for e in envelopes]
    found = shredding.keys(
        conn, (p for e, data in zip(envelopes, wire) for p in shredding.persons(e.type, e.version, data)), create=True)
    return [_row(e, None if first_version is None else first_version + i,
                 shredding.seal(e.id, e.type, e.version, data, found))
            for i, (e, data) in enumerate(zip(envelopes, wire))], found


def _row(envelope: Envelope, stream_version: int | None, data: dict) -> dict:
    return {
        "event_id": uuid.UUID(envelope.id),
        "stream_id": envelope.subject,
        "stream_version": stream_version,
        "type": envelope.type,
        "version": envelope.version,
        "source": envelope.source,
        "time": envelope.time,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "data": data,
    }


def envelope_of(row) -> Envelope:
    """The envelope stored in ``row``, as ``contracts.parse`` gave it when it was stored: it was
    validated then, so replaying only turns its dates, times and instants back into values."""
    return Envelope(
        id=str(row.event_id), type=row.type, version=row.version, source=row.source, subject=row.stream_id,
        time=row.time, correlation_id=row.correlation_id, causation_id=row.causation_id,
        data=load_stored(row.type, row.version, row.data),
    )


def _opened(conn: Connection, rows: list) -> list:
    """``rows`` with the personal fields of their data opened with their persons' keys
    (``FORGOTTEN`` where a key is gone), for ``envelope_of``."""
    found = shredding.keys(conn, (p for row in rows for p in shredding.persons(row.type, row.version, row.data)))
    if not found:
        return rows
    return [SimpleNamespace(**{**row._mapping,
                               "data": shredding.unseal(str(row.event_id), row.type, row.version, row.data, found)})
            for row in rows]


OWN_EVENTS_CHANNEL = "own_events"


def append(conn: Connection, expected_version: int, new_events: list[Envelope]) -> int:
    """Append a service's own events to their stream after ``expected_version``; returns the
    stream's new version. The stream is the events' ``subject``."""
    if not new_events:
        return expected_version
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OWN_EVENTS_LOCK})
    rows, _ = _rows(conn, new_events, expected_version + 1)
    try:
        with conn.begin_nested():
            conn.execute(events.insert(), rows)
    except IntegrityError as exc:
        raise ConcurrencyError(new_events[0].subject) from exc
    # Delivered on commit, to the relay listening in this database: it publishes at once instead
    # of polling an idle store.
    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OWN_EVENTS_CHANNEL})
    return expected_version + len(rows)


def load_stream(conn: Connection, stream_id: str) -> list[Envelope]:
    """A stream's own events, oldest first."""
    rows = conn.execute(
        select(events)
        .where(events.c.stream_id == stream_id, events.c.stream_version.is_not(None))
        .order_by(events.c.stream_version)
    ).all()
    return [envelope_of(row) for row in _opened(conn, rows)]


# One statement per batch whatever its size, the rows as one JSON document that PostgreSQL turns
# back into typed rows: a short query that psycopg and PostgreSQL parse once, where a 500-row
# VALUES list costs both again for every batch (and arrays cost psycopg an escape per value).
_ADMIT = text("""
    INSERT INTO events (event_id, stream_id, stream_version, type, version, source, time, correlation_id,
                        causation_id, data)
    SELECT * FROM jsonb_to_recordset(CAST(:batch AS jsonb)) AS e(
        event_id uuid, stream_id text, stream_version integer, type text, version integer, source text,
        time timestamptz, correlation_id text, causation_id text, data jsonb)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id""")


def batch_json(rows: list[dict]) -> str:
    """Rows as one JSON array for ``jsonb_to_recordset``: dates, times and instants in ISO 8601,
    decimals and UUIDs as text, which PostgreSQL reads back into the column's type."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_value)


def _json_value(value):
    if isinstance(value, (dt.date, dt.time)):  # datetimes too
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value")


def admit(conn: Connection, incoming: Iterable[Envelope]) -> list[Envelope]:
    """Store events taken in from other sources and return those never seen before, in their
    given order, as the store reads them back (a forgotten person's fields ``FORGOTTEN``): the
    inbox. Runs in the transaction that applies their effects."""
    unique: dict[str, Envelope] = {}
    for envelope in incoming:
        unique.setdefault(envelope.id, envelope)
    if not unique:
        return []
    batch = list(unique.values())
    rows, found = _rows(conn, batch, None)
    inserted = conn.execute(_ADMIT, {"batch": batch_json(rows)}).scalars()
    fresh = {str(event_id) for event_id in inserted}
    any_forgotten = None in found.values()
    return [dataclasses.replace(e, data=shredding.forgotten(e.type, e.version, e.data, found)) if any_forgotten else e
            for e in batch if e.id in fresh]


def seal_plain(conn: Connection, chunk: int = 1000) -> int:
    """Seal the personal fields that events stored before crypto-shredding hold plain (the kit's
    migration runs it once); returns how many events it sealed. A plain value is one that is
    neither sealed (a dict), null nor the forgotten marker."""
    kinds = [key for key in contracts.SCHEMAS if personal_fields(*key)]
    last, count = 0, 0
    while True:
        rows = conn.execute(
            select(events.c.position, events.c.event_id, events.c.type, events.c.version, events.c.data)
            .where(events.c.position > last, tuple_(events.c.type, events.c.version).in_(kinds))
            .order_by(events.c.position).limit(chunk)
        ).all()
        if not rows:
            return count
        last = rows[-1].position
        plain = [row for row in rows if any(not isinstance(row.data.get(name), dict) and row.data.get(name) is not None
                                            and row.data.get(name) != FORGOTTEN
                                            for name in personal_fields(row.type, row.version))]
        found = shredding.keys(conn, (p for row in plain for p in shredding.persons(row.type, row.version, row.data)),
                               create=True)
        for row in plain:
            conn.execute(events.update().where(events.c.position == row.position).values(
                data=shredding.seal(str(row.event_id), row.type, row.version, row.data, found)))
        count += len(plain)


def about_parent(conn: Connection, parent_id: str) -> list[dict]:
    """The stored events whose data names the parent, oldest first, opened, each an envelope in
    the contracts' wire form: what the store holds about them, for their export."""
    rows = conn.execute(select(events).where(PARENT_NAMED == parent_id).order_by(events.c.position)).all()
    return [envelope_of(row).to_dict() for row in _opened(conn, rows)]


def read_all(conn: Connection, chunk: int = 5000) -> Iterator[list[Envelope]]:
    """Every stored event in position order, in chunks (for rebuilding projections)."""
    last = 0
    while True:
        rows = conn.execute(
            select(events).where(events.c.position > last).order_by(events.c.position).limit(chunk)
        ).all()
        if not rows:
            return
        last = rows[-1].position
        yield [envelope_of(row) for row in _opened(conn, rows)]


def unpublished(conn: Connection, relay: str, source: str, limit: int):
    """The relay's next rows: the service's own events past its cursor, in position order, their
    personal fields opened (the bus carries them plain, or ``FORGOTTEN``, to its subscribers)."""
    cursor = select(relay_cursors.c.position).where(relay_cursors.c.relay == relay).scalar_subquery()
    return _opened(conn, conn.execute(
        select(events)
        .where(events.c.source == source, events.c.position > func.coalesce(cursor, 0))
        .order_by(events.c.position)
        .limit(limit)
    ).all())


def backlog(conn: Connection, relay: str, source: str) -> int:
    cursor = select(relay_cursors.c.position).where(relay_cursors.c.relay == relay).scalar_subquery()
    return conn.execute(
        select(func.count())
        .select_from(events)
        .where(events.c.source == source, events.c.position > func.coalesce(cursor, 0))
    ).scalar_one()


def advance(conn: Connection, relay: str, position: int) -> None:
    conn.execute(
        insert(relay_cursors)
        .values(relay=relay, position=position)
        .on_conflict_do_update(index_elements=["relay"], set_={"position": position})
    )


class UnitOfWork:
    """One command's transaction: the aggregates it loads and saves, in ``conn``. Saving appends
    their new events, which the relay publishes once committed, and applies them to the
    service's projections in the same transaction."""

    def __init__(self, conn: Connection, project):
        self.conn, self._project = conn, project

    def load(self, aggregate_class, key: str):
        """The aggregate ``key`` rebuilt from its stream."""
        return aggregate_class.rebuild(key, load_stream(self.conn, f"{aggregate_class.stream_prefix}{key}"))

    def save(self, *aggregates) -> list[Envelope]:
        """Append each aggregate's new events after the version they were decided on, and apply
        them; raises ConcurrencyError if a stream moved meanwhile. Returns the stored events."""
        stored = []
        for aggregate in aggregates:
            new, aggregate.changes = aggregate.changes, []
            aggregate.version = append(self.conn, aggregate.version, new)
            stored.extend(new)
        self._project(self.conn, stored)
        return stored


class Commands:
    """How a service runs a command: ``run(engine, command)`` calls ``command(unit)`` in a
    transaction, where ``unit`` (a UnitOfWork) loads the aggregates, the command decides, and
    ``unit.save`` stores and projects what it decided; again from the start, re-reading
    everything, when another writer moved the same stream first. ``project(conn, events)`` is
    the service's ``projections.apply``."""

    def __init__(self, project, attempts: int = 3):
        self.project, self.attempts = project, attempts

    def run(self, engine, command):
        for attempt in range(self.attempts):
            try:
                with engine.begin() as conn:
                    return command(UnitOfWork(conn, self.project))
            except ConcurrencyError:
                if attempt == self.attempts - 1:
                    raise

    def within(self, conn: Connection) -> UnitOfWork:
        """A unit of work in a transaction of the caller's, which retries it: an event
        consumer's batch whose effects include commands."""
        return UnitOfWork(conn, self.project)
