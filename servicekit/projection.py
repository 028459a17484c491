"""Order-tolerant writes to read models.

Two replicas consuming one queue, a retried event or a school system re-publishing late all
reorder events of one stream. Every projection row therefore carries the time of the event that
last wrote it, and a write lands only if it is newer: the newest fact wins whatever the order of
arrival, and a removal leaves a tombstone so that an older event cannot bring the row back
(docs/decisions/0002-event-order.md).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence

from sqlalchemy import JSON, Table, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection


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
    columns = tuple(values[0])
    statement = _upsert(conn.dialect, table, columns, tuple(key), stamp, tuple(insert_only))
    conn.execute(statement, {f"c{i}": [_param(table.c[name], row[name]) for row in values]
                             for i, name in enumerate(columns)})


@functools.lru_cache(maxsize=256)
def _upsert(dialect, table: Table, columns: tuple, key: tuple, stamp: str, insert_only: tuple):
    """One statement for the whole batch, the rows as one array per column: PostgreSQL and
    psycopg parse a short query once, where a 500-row VALUES list costs both every batch."""
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(f"CAST(:c{i} AS {_array_type(dialect, table.c[name])})" for i, name in enumerate(columns))
    changed = [c for c in columns if c not in key and c not in insert_only]
    on_conflict = (
        "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in changed)
        + f" WHERE {quote(table.name)}.{quote(stamp)} < excluded.{quote(stamp)}"
    ) if changed else "DO NOTHING"
    return text(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in key)}) {on_conflict}"
    )


def _array_type(dialect, column) -> str:
    if isinstance(column.type, ARRAY):
        # unnest() flattens arrays of arrays: such a column travels as JSON, turned back in SQL.
        raise TypeError(f"{column} is an array: keep it out of upsert_latest")
    return f"{column.type.compile(dialect=dialect)}[]"


def _param(column, value):
    """JSON columns travel as JSON text, the other values as themselves."""
    return json.dumps(value) if isinstance(column.type, JSON) and value is not None else value


def by_type(events: Iterable) -> dict[str, list]:
    """Events grouped by type, each group in arrival order."""
    groups: dict[str, list] = {}
    for event in events:
        groups.setdefault(event.type, []).append(event)
    return groups


def row_of(event, table: Table, stamp: str = "updated_at") -> dict:
    """The event's fields that are columns of ``table``, stamped with the event's time."""
    return {**{c.name: event.data[c.name] for c in table.columns if c.name in event.data}, stamp: event.time}
