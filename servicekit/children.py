"""A family's access to its children's data, the same in every service that answers about a child:
its own projection of the parent↔child links, the access log of each read of a child's data
(Québec's Law 25), forgetting a closed account, and the requests' schemas.

``link_tables(metadata)`` declares both tables in a service's metadata; ``Children`` answers "is
this child theirs?" (``link``), writes the log and forgets a parent; its ``apply`` feeds the links
from ``ChildLinked``/``ChildUnlinked`` (order-tolerant: an unlink is a tombstone) and forgets a
parent on ``ParentAccountClosed``, for every service but linking, which owns the links, and
notices, which keeps them only for open accounts.
"""
from __future__ import annotations

from collections.abc import Iterable

from marshmallow import Schema
from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Identity, Index, MetaData, Table, Text, delete, func, insert, select,
)
from sqlalchemy.engine import Connection

from contracts.fields import Id

from . import shredding
from .errors import NotFound
from .projection import upsert_latest


# The ids a parent's request names: a parent's, a child's, as the contracts write them.
ID = Id()
# A child a request may leave out, meaning every child of the family.
ANY_CHILD = Id(required=False)


class ParentSchema(Schema):
    parent_id = ID


class ChildSchema(ParentSchema):
    student_id = ID


def link_tables(metadata: MetaData, *more, log_by_parent: bool = True) -> tuple[Table, Table]:
    """The ``links`` read model and the ``access_log`` (not a read model: never rebuilt).
    ``more``: the columns and indexes a service keeps on its links beyond these; notices' log
    was made without the index by parent (``log_by_parent``)."""
    links = Table(
        "links", metadata,
        Column("parent_id", Text, primary_key=True),
        Column("student_id", Text, primary_key=True),
        Column("school_id", Text),
        Column("linked", Boolean, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        *more,
    )
    access_log = Table(
        "access_log", metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("parent_id", Text, nullable=False),
        Column("student_id", Text, nullable=False),
        Column("what", Text, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("access_log_student_idx", "student_id", "at"),
        *([Index("access_log_parent_idx", "parent_id")] if log_by_parent else []),
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

    def forget(self, conn: Connection, parent_ids: list[str], *more: Table) -> None:
        """Law 25: a closed account leaves no link nor access-log row keyed by that parent, nor
        any in the service's ``more`` tables of the parent's own state, and their personal data
        in the event store reads forgotten (its key deleted, ``shredding``)."""
        if parent_ids:
            shredding.forget(conn, "parent", parent_ids)
            for table in (self.links, self.access_log, *more):
                conn.execute(delete(table).where(table.c.parent_id.in_(parent_ids)))

    def linked(self, parent_id: str):
        """The condition on ``links`` of the parent's linked children, for a query of the service's."""
        return (self.links.c.parent_id == parent_id) & self.links.c.linked.is_(True)

    def find(self, conn: Connection, parent_id: str, student_id: str):
        """The link of the child to the parent, or None (not logged)."""
        # FOR SHARE: an unlink or an account closure waits for this read to commit, and a read
        # waits for them, so no access-log row outlives the forgetting of its parent.
        return conn.execute(
            select(self.links).where(self.linked(parent_id), self.links.c.student_id == student_id)
            .with_for_update(read=True)
        ).first()

    def link(self, conn: Connection, parent_id: str, student_id: str, what: str | None,
             field: str | None = None):
        """The link if the child is linked to the parent, the read logged as ``what`` (unless
        None); else the same NotFound as for a child that does not exist."""
        link = self.find(conn, parent_id, student_id)
        if link is None:
            raise NotFound("child_not_found", field=field)
        if what is not None:
            self.log(conn, parent_id, [student_id], what)
        return link

    def school_of(self, conn: Connection, parent_id: str, student_id: str, what: str) -> str:
        """The child's school if the child is linked to the parent, the read logged (``link``)."""
        return self.link(conn, parent_id, student_id, what).school_id

    def of_parent(self, conn: Connection, parent_id: str) -> dict[str, str]:
        """The parent's linked children: student id → school id (not logged: no child data)."""
        rows = conn.execute(
            select(self.links.c.student_id, self.links.c.school_id).where(self.linked(parent_id))
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
