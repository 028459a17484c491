"""The columns of a service's tables, declared the same way in every ``tables.py``: a read model's
key, the stamp every read model row carries (the time of the newest event that wrote it, which
``servicekit.projection`` compares), and runs of required or optional columns by name and type, in
the order the table keeps them."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, Table, Text

# The type of every moment a table keeps: an instant, never a local time.
MOMENT = DateTime(timezone=True)


def key(*names: str) -> list[Column]:
    """A table's primary key: text ids."""
    return [Column(name, Text, primary_key=True) for name in names]


def required(**types) -> list[Column]:
    return [Column(name, type_, nullable=False) for name, type_ in types.items()]


def optional(**types) -> list[Column]:
    return [Column(name, type_) for name, type_ in types.items()]


def stamp() -> Column:
    """The time of the event that last wrote the row: a write lands only if it is newer."""
    return Column("updated_at", MOMENT, nullable=False)


def read_model(name: str, metadata: MetaData, *items) -> Table:
    """A read model fed by events: ``items`` (columns, indexes), then its stamp."""
    return Table(name, metadata, *items, stamp())
