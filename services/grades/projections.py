"""Grades' read models, fed by events: bulletins, assignment results, homework, ministry results,
the schools' display settings, and the parent↔child links this service answers for.

``apply`` serves both the live consumer and ``rebuild-projections``; every write is
order-tolerant (``servicekit.projection``): a republished document replaces the older one.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection

from servicekit.children import Children
from servicekit.projection import by_type, upsert_latest

from .tables import access_log, assignments, bulletins, homework, links, ministry_results, school_settings

TABLES = [bulletins, assignments, homework, ministry_results, school_settings, links]

SCHOOL_EVENTS = ["BulletinPublished", "AssignmentResultPublished", "HomeworkPublished", "MinistryResultPublished",
                 "SchoolSettingsChanged"]
# Events that name a school year: each is checked against the year it was published in.
DATED_EVENTS = ("BulletinPublished", "AssignmentResultPublished", "MinistryResultPublished")

children = Children(links, access_log)


def apply(conn: Connection, events: list) -> None:
    groups = by_type(events)
    upsert_latest(conn, bulletins, (_row(e, bulletins) for e in groups.get("BulletinPublished", ())), ["bulletin_id"])
    upsert_latest(conn, assignments, (_row(e, assignments) for e in groups.get("AssignmentResultPublished", ())),
                  ["result_id"])
    upsert_latest(conn, homework, (_row(e, homework) for e in groups.get("HomeworkPublished", ())),
                  ["homework_id", "student_id"])
    upsert_latest(conn, ministry_results, (_row(e, ministry_results) for e in groups.get("MinistryResultPublished", ())),
                  ["result_id"])
    upsert_latest(conn, school_settings, (_row(e, school_settings) for e in groups.get("SchoolSettingsChanged", ())),
                  ["school_id"])
    children.apply(conn, groups)


def _row(e, table) -> dict:
    """The event's fields that are columns of ``table``, stamped with the event's time."""
    return {**{c.name: e.data[c.name] for c in table.columns if c.name in e.data}, "updated_at": e.time}

