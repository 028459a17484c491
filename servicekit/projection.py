"""Order-tolerant writes to read models.

Two replicas consuming one queue, a retried event or a school system re-publishing late all
reorder events of one stream. Every projection row therefore carries the time of the event that
last wrote it, and a write lands only if it is newer: the newest fact wins whatever the order of
arrival, and a removal leaves a tombstone so that an older event cannot bring the row back
(docs/decisions/0002-event-order.md).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
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
    statement = insert(table)
    changed = [c for c in values[0] if c not in key and c not in insert_only]
    # A list of parameters, not .values(rows): one compiled statement, cached, that SQLAlchemy
    # sends as multi-row batches ("insertmanyvalues") instead of compiling 500 rows each time.
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=list(key),
            set_={c: statement.excluded[c] for c in changed},
            where=table.c[stamp] < statement.excluded[stamp],
        ),
        values,
    )


def by_type(events: Iterable) -> dict[str, list]:
    """Events grouped by type, each group in arrival order."""
    groups: dict[str, list] = {}
    for event in events:
        groups.setdefault(event.type, []).append(event)
    return groups


def row_of(event, table: Table, stamp: str = "updated_at") -> dict:
    """The event's fields that are columns of ``table``, stamped with the event's time."""
    return {**{c.name: event.data[c.name] for c in table.columns if c.name in event.data}, stamp: event.time}
