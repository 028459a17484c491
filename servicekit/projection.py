"""Order-tolerant writes to read models.

Two replicas consuming one queue, a retried event or a school system re-publishing late all
reorder events of one stream. Every projection row therefore carries the time of the event that
last wrote it, and a write lands only if it is newer: the newest fact wins whatever the order of
arrival, and a removal leaves a tombstone so that an older event cannot bring the row back
(docs/decisions/0002-event-order.md).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

from .store import admit, batch_json


def take_in(db, events: list, *steps) -> list:
    """How every service takes in a batch of events (its ``@event_stream`` entrypoint): in one
    transaction, the events not seen before are admitted to the store, then each of ``steps``
    (``step(conn, fresh)``: the projections first, then what the service does beyond them) runs
    in turn. A step that raises, a domain rule an event breaks, rolls the batch back; the consumer
    retries it event by event and dead-letters that one event with the reason while the others go
    through. Returns the fresh events."""
    with db.begin() as conn:
        fresh = admit(conn, events)
        for step in steps:
            step(conn, fresh)
    return fresh


def upsert_latest(
    conn: Connection,
    table: Table,
    rows: Iterable[dict],
    key: Sequence[str],
    stamp: str = "updated_at",
    insert_only: Sequence[str] = (),
) -> None:
    """Insert or update ``rows`` by ``key``, keeping per row the write with the newest ``stamp``.

    Columns named in ``insert_only`` are written when the row is created and never changed.
    """
    newest: dict[tuple, dict] = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        if k not in newest or newest[k][stamp] < row[stamp]:
            newest[k] = row
    if not newest:
        return
    values = list(newest.values())
    statement = _upsert(conn.dialect, table, tuple(values[0]), tuple(key), stamp, tuple(insert_only))
    conn.execute(statement, {"rows": batch_json(values)})


@functools.lru_cache(maxsize=256)
def _upsert(dialect, table: Table, columns: tuple, key: tuple, stamp: str, insert_only: tuple):
    """One statement for the whole batch, its rows as one JSON document (``store.batch_json``)."""
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    record = ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    changed = [c for c in columns if c not in key and c not in insert_only]
    on_conflict = (
        "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in changed)
        + f" WHERE {quote(table.name)}.{quote(stamp)} < excluded.{quote(stamp)}"
    ) if changed else "DO NOTHING"
    return text(
        f"INSERT INTO {quote(table.name)} ({names}) "
        f"SELECT {names} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({record}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in key)}) {on_conflict}"
    )


def mark(conn: Connection, table: Table, events: Iterable, key: Sequence[str], **values) -> None:
    """Write ``values`` on the rows the ``key`` fields of ``events`` name, stamped with each event's
    time: how a removal leaves its tombstone (``removed=True``)."""
    upsert_latest(conn, table, ({**{k: e.data[k] for k in key}, **values, "updated_at": e.time} for e in events), key)


def by_type(events: Iterable) -> dict[str, list]:
    """Events grouped by type, each group in arrival order."""
    groups: dict[str, list] = {}
    for event in events:
        groups.setdefault(event.type, []).append(event)
    return groups


def row_of(event, table: Table, stamp: str = "updated_at") -> dict:
    """The event's fields that are columns of ``table``, stamped with the event's time."""
    return {**{c.name: event.data[c.name] for c in table.columns if c.name in event.data}, stamp: event.time}
