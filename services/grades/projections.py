"""Grades' read models, fed by events: bulletins, assignment results, homework, ministry results,
the schools' display settings, and the parent↔child links this service answers for.

``apply`` serves both the live consumer and ``rebuild-projections``; every write is
order-tolerant (``servicekit.projection``): a republished document replaces the older one.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection

from servicekit.children import Children
from servicekit.projection import by_type, row_of, upsert_latest

from .tables import access_log, assignments, bulletins, homework, links, ministry_results, school_settings

TABLES = [bulletins, assignments, homework, ministry_results, school_settings, links]

# Events that name a school year: each is checked against the year it was published in.
DATED_EVENTS = ("BulletinPublished", "AssignmentResultPublished", "MinistryResultPublished")

children = Children(links, access_log)


def apply(conn: Connection, events: list) -> None:
    groups = by_type(events)
    for event_type, table, key in (("BulletinPublished", bulletins, ["bulletin_id"]),
                                   ("AssignmentResultPublished", assignments, ["result_id"]),
                                   ("HomeworkPublished", homework, ["homework_id", "student_id"]),
                                   ("MinistryResultPublished", ministry_results, ["result_id"]),
                                   ("SchoolSettingsChanged", school_settings, ["school_id"])):
        upsert_latest(conn, table, (row_of(e, table) for e in groups.get(event_type, ())), key)
    children.apply(conn, groups)
    children.forget_students(conn, groups)

