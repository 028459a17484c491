"""What every service that answers about a child keeps: its own projection of
the parent↔child links, and the access log of each read of a child's data (Québec's Law 25).

``link_tables(metadata)`` declares both tables in a service's metadata; ``apply`` feeds the links
from ``ChildLinked``/``ChildUnlinked`` (order-tolerant: an unlink is a tombstone) and forgets a
parent on ``ParentAccountClosed``; ``Children`` answers "is this child theirs?" and writes the log.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Identity, Index, MetaData, Table, Text, delete, func, insert, select,
)
from sqlalchemy.engine import Connection

from .errors import NotFound
from .projection import upsert_latest


def link_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The ``links`` read model and the ``access_log`` (not a read model: never rebuilt)."""
    links = Table(
        "links", metadata,
        Column("parent_id", Text, primary_key=True),
        Column("student_id", Text, primary_key=True),
        Column("school_id", Text),
        Column("linked", Boolean, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    access_log = Table(
        "access_log", metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("parent_id", Text, nullable=False),
        Column("student_id", Text, nullable=False),
        Column("what", Text, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("access_log_student_idx", "student_id", "at"),
        Index("access_log_parent_idx", "parent_id"),
    )
    return links, access_log


class Children:
    """The links and access log of one service."""

    def __init__(self, links: Table, access_log: Table):
        self.links, self.access_log = links, access_log

    def apply(self, conn: Connection, groups: dict[str, list]) -> None:
        """Apply the link and account events of ``groups`` (``servicekit.projection.by_type``)."""
        upsert_latest(conn, self.links, (
            {"parent_id": e.data["parent_id"], "student_id": e.data["student_id"],
             "school_id": e.data["school_id"], "linked": True, "updated_at": e.time}
            for e in groups.get("ChildLinked", ())), ["parent_id", "student_id"])
        upsert_latest(conn, self.links, (
            {"parent_id": e.data["parent_id"], "student_id": e.data["student_id"], "linked": False,
             "updated_at": e.time}
            for e in groups.get("ChildUnlinked", ())), ["parent_id", "student_id"])
        closed = [e.data["parent_id"] for e in groups.get("ParentAccountClosed", ())]
        if closed:
            self.forget(conn, closed)

    def forget(self, conn: Connection, parent_ids: list[str]) -> None:
        """Law 25: a closed account leaves no link nor access-log row keyed by that parent."""
        conn.execute(delete(self.links).where(self.links.c.parent_id.in_(parent_ids)))
        conn.execute(delete(self.access_log).where(self.access_log.c.parent_id.in_(parent_ids)))

    def school_of(self, conn: Connection, parent_id: str, student_id: str, what: str) -> str:
        """The child's school if the child is linked to the parent, the read logged; else the
        same NotFound as for a child that does not exist."""
        # FOR SHARE: an unlink or an account closure waits for this read to commit, and a read
        # waits for them, so no access-log row outlives the forgetting of its parent.
        school_id = conn.execute(
            select(self.links.c.school_id).where(
                self.links.c.parent_id == parent_id, self.links.c.student_id == student_id,
                self.links.c.linked.is_(True)).with_for_update(read=True)
        ).scalar()
        if school_id is None:
            raise NotFound("child_not_found")
        self.log(conn, parent_id, [student_id], what)
        return school_id

    def of_parent(self, conn: Connection, parent_id: str) -> dict[str, str]:
        """The parent's linked children: student id → school id (not logged: no child data)."""
        rows = conn.execute(
            select(self.links.c.student_id, self.links.c.school_id)
            .where(self.links.c.parent_id == parent_id, self.links.c.linked.is_(True))
            .order_by(self.links.c.student_id)
        ).all()
        return {row.student_id: row.school_id for row in rows}

    def log(self, conn: Connection, parent_id: str, student_ids: Iterable[str], what: str) -> None:
        rows = [{"parent_id": parent_id, "student_id": s, "what": what} for s in student_ids]
        if rows:
            conn.execute(insert(self.access_log), rows)

    def accesses(self, conn: Connection, parent_id: str) -> list[dict]:
        """The parent's own reads, for their export."""
        rows = conn.execute(
            select(self.access_log).where(self.access_log.c.parent_id == parent_id).order_by(self.access_log.c.id)
        ).all()
        return [{"student_id": r.student_id, "what": r.what, "at": r.at.isoformat()} for r in rows]

    def links_of(self, conn: Connection, parent_id: str) -> list[dict]:
        rows = conn.execute(select(self.links).where(self.links.c.parent_id == parent_id)).all()
        return [{"student_id": r.student_id, "school_id": r.school_id, "linked": r.linked,
                 "updated_at": r.updated_at.isoformat()} for r in rows]
