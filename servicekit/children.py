"""A family's access to its children's data, the same in every service that answers about a child:
its own projection of the parent↔child links, the access log of each read of a child's data
(Québec's Law 25), forgetting a closed account, and the requests' schemas.

The access log outlives the accounts: a school must be able to tell who read a child's file, even
after the reader closed their account. Closing an account puts a keyed hash of the parent's id in
place of the id (``pseudonym``, under ``PORTAL_ACCESS_LOG_SECRET``, the same in every service so
that one reader reads as one pseudonym everywhere); every row, pseudonymised or not, is deleted
once older than its board's retention (``expire``, ``retention_days``).

``link_tables(metadata)`` declares both tables in a service's metadata; ``Children`` answers "is
this child theirs?" (``link``), lists a family (``family``), writes the log and forgets a parent;
its ``apply`` feeds the links from ``ChildLinked``/``ChildUnlinked`` (order-tolerant: an unlink is
a tombstone) and forgets a parent on ``ParentAccountClosed``. What a service needs beyond that is
said in its parameters: the columns its links carry from the events (``carried``), the event that
forgets a parent (``forgets``: linking, which owns the links, forgets on its own unlink of a closed
account, after it has said which links the closure broke), and the accounts known closed whose
late link events are left out (``apply``'s ``closed``: notices).
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from marshmallow import Schema
from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Identity, Index, MetaData, Table, Text, bindparam, delete, func, insert,
    or_, select, update,
)
from sqlalchemy.engine import Connection

from contracts.fields import Id, Uuid

from . import schooltime, shredding
from .errors import NotFound, load
from .projection import upsert_latest


# The ids a parent's request names, as the contracts write them: a parent's (Keycloak's user id),
# a child's or any other record's.
PARENT_ID = Uuid()
ID = Id()
# A child a request may leave out, meaning every child of the family.
ANY_CHILD = Id(required=False)


class ParentSchema(Schema):
    parent_id = PARENT_ID


class StudentSchema(Schema):
    student_id = ID


class ChildSchema(ParentSchema):
    student_id = ID


def link_tables(metadata: MetaData, *more, log_by_parent: bool = True) -> tuple[Table, Table]:
    """The ``links`` read model and the ``access_log`` (not a read model: never rebuilt; a row
    names its reader by ``parent_id`` while the account is open, by ``parent_pseudonym`` after).
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
        Column("parent_id", Text),
        Column("student_id", Text, nullable=False),
        Column("what", Text, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("parent_pseudonym", Text),
        Index("access_log_student_idx", "student_id", "at"),
        Index("access_log_at_idx", "at"),
        *([Index("access_log_parent_idx", "parent_id")] if log_by_parent else []),
    )
    return links, access_log


ACCESS_LOG_SECRET = "PORTAL_ACCESS_LOG_SECRET"
ACCESS_LOG_RETENTION = "PORTAL_ACCESS_LOG_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 365


def pseudonym(parent_id: str) -> str:
    """What the access log keeps of a closed account's reader: HMAC-SHA256 of the id under the
    operator's secret, hex. Without the secret nobody can tell whose it is, even holding every
    parent id (the event stores keep ids readable)."""
    secret = os.environ.get(ACCESS_LOG_SECRET)
    if not secret:
        raise RuntimeError(f"{ACCESS_LOG_SECRET} must be set: closing an account pseudonymises its access log")
    return hmac.new(secret.encode(), f"access-log:{parent_id}".encode(), hashlib.sha256).hexdigest()


def retention_days(setting: str | None = None) -> dict[str | None, int]:
    """The access log's retention, in days, by board (None: every board not named), from
    ``PORTAL_ACCESS_LOG_RETENTION_DAYS``: a number for every board and ``<org id>=<days>`` for the
    boards that set their own, comma-separated, e.g. ``365,css-trois-lacs=730``."""
    setting = os.environ.get(ACCESS_LOG_RETENTION, "") if setting is None else setting
    days: dict[str | None, int] = {None: DEFAULT_RETENTION_DAYS}
    for item in filter(None, (part.strip() for part in setting.split(","))):
        board, _, value = item.rpartition("=")
        if not value.isdigit() or int(value) < 1 or "=" in board:
            raise ValueError(f"{ACCESS_LOG_RETENTION}: {item!r} is neither a number of days nor <org id>=<days>")
        days[board or None] = int(value)
    return days


def account_closed(event) -> bool:
    return event.type == "ParentAccountClosed"


class Children:
    """The links and access log of one service. ``carried``: the links' own columns beyond the
    kit's, copied from the link events that hold them; ``forgets``: whether an event forgets its
    parent (``ParentAccountClosed`` unless said otherwise)."""

    def __init__(self, links: Table, access_log: Table, carried: tuple[str, ...] = (),
                 forgets: Callable[[object], bool] = account_closed):
        self.links, self.access_log = links, access_log
        self.carried, self.forgets = carried, forgets

    def apply(self, conn: Connection, groups: dict[str, list], closed: Iterable[str] = ()) -> None:
        """Apply the link and account events of ``groups`` (``servicekit.projection.by_type``),
        but the link events of the ``closed`` accounts."""
        closed = set(closed)
        events = [e for t in ("ChildLinked", "ChildUnlinked", "ParentAccountClosed") for e in groups.get(t, ())]
        gone = [e.data["parent_id"] for e in events if self.forgets(e)]
        kept = [e for e in events if e.data["parent_id"] not in closed and not self.forgets(e)]
        upsert_latest(conn, self.links, (
            {"parent_id": e.data["parent_id"], "student_id": e.data["student_id"],
             "school_id": e.data["school_id"], "linked": True, "updated_at": e.time,
             **{c: e.data.get(c) for c in self.carried}}
            for e in kept if e.type == "ChildLinked"), ["parent_id", "student_id"])
        upsert_latest(conn, self.links, (
            {"parent_id": e.data["parent_id"], "student_id": e.data["student_id"], "linked": False,
             "updated_at": e.time, **{c: e.data[c] for c in self.carried if c in e.data}}
            for e in kept if e.type == "ChildUnlinked"), ["parent_id", "student_id"])
        self.forget(conn, gone)

    def forget(self, conn: Connection, parent_ids: list[str], *more: Table) -> None:
        """Law 25: a closed account leaves no link, nor any row in the service's ``more`` tables
        of the parent's own state; its reads stay in the access log under its ``pseudonym``; and
        its personal data in the event store reads forgotten (its key deleted, ``shredding``)."""
        if parent_ids:
            shredding.forget(conn, "parent", parent_ids)
            for table in (self.links, *more):
                conn.execute(delete(table).where(table.c.parent_id.in_(parent_ids)))
            log = self.access_log
            conn.execute(update(log).where(log.c.parent_id == bindparam("closed"))
                         .values(parent_id=None, parent_pseudonym=bindparam("reader")),
                         [{"closed": p, "reader": pseudonym(p)} for p in sorted(set(parent_ids))])

    def forget_students(self, conn: Connection, groups: dict[str, list]) -> None:
        """Law 25's retention: a child ``StudentForgotten`` names leaves no row keyed by their id
        in the service's tables, but the access log's (the school's record of who read the file,
        which ages out on its own), and their personal data in the event store reads forgotten.
        Last in a service's ``apply``, so that nothing of the same batch writes them back, in a
        rebuild too."""
        student_ids = sorted({e.data["student_id"] for e in groups.get("StudentForgotten", ())})
        if student_ids:
            shredding.forget(conn, "child", student_ids)
            for table in reversed(self.links.metadata.sorted_tables):
                if "student_id" in table.c and table is not self.access_log:
                    conn.execute(delete(table).where(table.c.student_id.in_(student_ids)))

    def linked(self, parent_id: str):
        """The condition on ``links`` of the parent's linked children, for a query of the service's."""
        return (self.links.c.parent_id == parent_id) & self.links.c.linked.is_(True)

    def find(self, conn: Connection, parent_id: str, student_id: str):
        """The link of the child to the parent, or None (not logged)."""
        # FOR SHARE: an unlink or an account closure waits for this read to commit, and a read
        # waits for them, so no access-log row keeps the id of a parent once forgotten.
        return conn.execute(
            select(self.links).where(self.linked(parent_id), self.links.c.student_id == student_id)
            .with_for_update(read=True)
        ).first()

    def link(self, conn: Connection, parent_id: str, student_id: str, what: str | None,
             field: str | None = None):
        """The link if the ids are well formed and the child is linked to the parent, the read
        logged as ``what`` (unless None); else the same NotFound as for a child that does not
        exist."""
        load(ChildSchema(), {"parent_id": parent_id, "student_id": student_id})
        link = self.find(conn, parent_id, student_id)
        if link is None:
            raise NotFound("child_not_found", field=field)
        if what is not None:
            self.log(conn, parent_id, [student_id], what)
        return link

    def school_of(self, conn: Connection, parent_id: str, student_id: str, what: str) -> str:
        """The child's school if the child is linked to the parent, the read logged (``link``)."""
        return self.link(conn, parent_id, student_id, what).school_id

    def family(self, conn: Connection, query, parent_id: str, student_id: str | None = None,
               what: str | None = None, field: str | None = None) -> list:
        """The rows of ``query`` (the service's select from ``links``, joined with what it shows)
        of the parent's linked children: all, or the one named (``link``: refused like a child
        that does not exist when not theirs); each read logged as ``what`` unless None."""
        query = query.where(self.linked(parent_id))
        if student_id is not None:
            self.link(conn, parent_id, student_id, what, field)
            return conn.execute(query.where(self.links.c.student_id == student_id)).all()
        rows = conn.execute(query).all()
        if what is not None:
            self.log(conn, parent_id, [r.student_id for r in rows], what)
        return rows

    def of_parent(self, conn: Connection, parent_id: str) -> dict[str, str]:
        """The parent's linked children: student id → school id (not logged: no child data)."""
        rows = conn.execute(
            select(self.links.c.student_id, self.links.c.school_id).where(self.linked(parent_id))
            .order_by(self.links.c.student_id)
        ).all()
        return {row.student_id: row.school_id for row in rows}

    def log(self, conn: Connection, parent_id: str, student_ids: Iterable[str], what: str) -> None:
        # Stamped by the school clock, as events are: retention compares it with the same clock.
        at = schooltime.school_now()
        rows = [{"parent_id": parent_id, "student_id": s, "what": what, "at": at} for s in student_ids]
        if rows:
            conn.execute(insert(self.access_log), rows)

    def accesses(self, conn: Connection, parent_id: str) -> list[dict]:
        """The parent's own reads, for their export."""
        rows = conn.execute(
            select(self.access_log).where(self.access_log.c.parent_id == parent_id).order_by(self.access_log.c.id)
        ).all()
        return [{"student_id": r.student_id, "what": r.what, "at": r.at.isoformat()} for r in rows]

    def readers(self, conn: Connection, student_id: str) -> list[dict]:
        """Who read the child's data, what and when, oldest first: for the child's school. A
        reader is a parent id, or the pseudonym of a closed account."""
        log = self.access_log
        rows = conn.execute(select(log).where(log.c.student_id == student_id).order_by(log.c.at, log.c.id)).all()
        return [{"parent_id": r.parent_id, "parent_pseudonym": r.parent_pseudonym, "what": r.what,
                 "at": r.at.isoformat()} for r in rows]

    def expire(self, conn: Connection, now: datetime, days: dict[str | None, int]) -> int:
        """Delete the reads older than their board's retention (``retention_days``); how many.
        A child's board is the org part of its id, as the contracts' trust rules make it."""
        log = self.access_log
        board = func.split_part(log.c.student_id, ".", 1)
        named = {b: d for b, d in days.items() if b is not None}
        older = [(board == b) & (log.c.at < now - timedelta(days=d)) for b, d in named.items()]
        older.append(board.not_in(list(named)) & (log.c.at < now - timedelta(days=days[None])))
        return conn.execute(delete(log).where(or_(*older))).rowcount

    def links_of(self, conn: Connection, parent_id: str) -> list[dict]:
        rows = conn.execute(select(self.links).where(self.links.c.parent_id == parent_id)).all()
        return [{"student_id": r.student_id, "school_id": r.school_id, "linked": r.linked,
                 "updated_at": r.updated_at.isoformat()} for r in rows]
