"""Identity's read model, fed by its own events: the parents whose school email is proven.

Own events come in stream order (the store's per-parent version), so plain writes suffice;
``apply`` serves the commands and ``rebuild-projections`` alike.
"""
from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from servicekit import shredding

from .tables import parents

TABLES = [parents]


def apply(conn: Connection, events: list) -> None:
    for e in events:
        d = e.data
        if e.type == "ParentVerified":
            conn.execute(insert(parents).values(
                parent_id=str(d["parent_id"]), email=d["email"], locale=d["locale"], verified_at=e.time,
                updated_at=e.time).on_conflict_do_nothing())
        elif e.type == "ParentEmailChanged":
            conn.execute(update(parents).where(parents.c.parent_id == str(d["parent_id"]))
                         .values(email=d["new_email"], updated_at=e.time))
        elif e.type == "ParentAccountClosed":
            conn.execute(delete(parents).where(parents.c.parent_id == str(d["parent_id"])))
            shredding.forget(conn, "parent", [str(d["parent_id"])])  # their emails in the store
