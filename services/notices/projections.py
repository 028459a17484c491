"""Notices' read models, fed by events: where each child is, who the parents are and how to
write to them, the school's messages and resources, and the dated entries of the calendar feed.

``apply`` serves both the live consumer and ``rebuild-projections``; every write is
order-tolerant (``servicekit.projection``). Mails are not sent from here: a rebuild must not
mail anyone again (see ``notifications``).
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from servicekit.children import Children
from servicekit.projection import by_type, mark, upsert_latest

from .tables import (
    access_log, agenda, closed_parents, days_off, guardians, links, messages, parents, resources, students,
)

TABLES = [links, students, guardians, parents, closed_parents, messages, resources, agenda, days_off]

# The links carry the board of each child (for audiences).
children = Children(links, access_log, carried=("org_id",))


def apply(conn: Connection, events: list) -> None:
    groups = by_type(events)
    closed = [e.data["parent_id"] for e in groups.get("ParentAccountClosed", ())]
    if closed:
        conn.execute(insert(closed_parents).values(
            [{"parent_id": p, "closed_at": e.time} for p, e in zip(closed, groups["ParentAccountClosed"])])
            .on_conflict_do_nothing())
    gone = set(conn.execute(select(closed_parents.c.parent_id).where(
        closed_parents.c.parent_id.in_({e.data["parent_id"] for e in events if "parent_id" in e.data}))).scalars())

    def of_open_accounts(event_type):
        return [e for e in groups.get(event_type, ()) if e.data["parent_id"] not in gone]

    children.apply(conn, groups, closed=gone)
    upsert_latest(conn, parents, (
        {"parent_id": e.data["parent_id"], "email": e.data["email"].lower(), "locale": e.data["locale"],
         "updated_at": e.time}
        for e in of_open_accounts("ParentVerified")), ["parent_id"])
    upsert_latest(conn, parents, (
        {"parent_id": e.data["parent_id"], "email": e.data["new_email"].lower(), "updated_at": e.time}
        for e in of_open_accounts("ParentEmailChanged")), ["parent_id"])
    if closed:
        conn.execute(delete(parents).where(parents.c.parent_id.in_(closed)))

    upsert_latest(conn, students, (
        {"student_id": e.data["student_id"], "org_id": e.data["org_id"], "school_id": e.data["school_id"],
         "group": e.data["group"], "first_name": e.data["first_name"], "updated_at": e.time}
        for e in (*groups.get("StudentEnrolled", ()), *groups.get("StudentUpdated", ()))), ["student_id"])
    upsert_latest(conn, guardians, (
        {"student_id": e.data["student_id"], "guardian_id": e.data["guardian_id"],
         "email": (e.data.get("email") or "").lower() or None, "principal": e.data["principal"],
         "access": e.data["access"], "removed": False, "updated_at": e.time}
        for e in groups.get("GuardianAssigned", ())), ["student_id", "guardian_id"])
    mark(conn, guardians, groups.get("GuardianRemoved", ()), ["student_id", "guardian_id"], removed=True)

    upsert_latest(conn, messages, (_message(e) for e in groups.get("MessagePublished", ())), ["message_id"])
    upsert_latest(conn, resources, (_resource(e) for e in groups.get("ResourcePublished", ())), ["resource_id"])
    upsert_latest(conn, days_off, (
        {"school_id": e.data["school_id"], "school_year": e.data["school_year"],
         "days": [{"date": d["date"].isoformat(), "label": d["label"]} for d in e.data["days_off"]],
         "updated_at": e.time}
        for e in groups.get("SchoolCalendarPublished", ())), ["school_id", "school_year"])

    upsert_latest(conn, agenda, (_absence(e) for e in groups.get("AbsenceRecorded", ())), ["entry_id"])
    upsert_latest(conn, agenda, (
        {"entry_id": f"absence:{e.data['absence_id']}", "student_id": e.data["student_id"], "cancelled": True,
         "updated_at": e.time}
        for e in groups.get("AbsenceCancelled", ())), ["entry_id"])
    upsert_latest(conn, agenda, (
        {"entry_id": f"detention:{e.data['detention_id']}", "student_id": e.data["student_id"], "kind": "detention",
         "day": e.data["date"], "starts": e.data["start"], "ends": e.data["end"], "title": e.data["reason"],
         "detail": e.data.get("location"), "updated_at": e.time}
        for e in groups.get("DetentionRecorded", ())), ["entry_id"])
    upsert_latest(conn, agenda, (
        {"entry_id": f"homework:{e.data['homework_id']}", "student_id": e.data["student_id"], "kind": "homework",
         "day": e.data["due_on"], "title": f"{e.data['subject_name']} : {e.data['title']}",
         "detail": e.data.get("description"), "updated_at": e.time}
        for e in groups.get("HomeworkPublished", ()) if e.data["kind"] == "homework"), ["entry_id"])
    children.forget_students(conn, groups)


def _message(e) -> dict:
    d, audience = e.data, e.data["audience"]
    return {
        "message_id": d["message_id"], "scope": audience["scope"], "org_id": audience["org_id"],
        "school_id": audience.get("school_id"), "group": audience.get("group"),
        "student_id": audience.get("student_id"), "title": d["title"], "body": d["body"], "author": d["author"],
        "published_at": d["published_at"], "updated_at": e.time,
    }


def _resource(e) -> dict:
    d, audience = e.data, e.data["audience"]
    return {
        "resource_id": d["resource_id"], "scope": audience["scope"], "org_id": audience["org_id"],
        "school_id": audience.get("school_id"), "title": d["title"], "kind": d["kind"], "url": d["url"],
        "description": d.get("description"), "updated_at": e.time,
    }


def _absence(e) -> dict:
    d = e.data
    return {
        "entry_id": f"absence:{d['absence_id']}", "student_id": d["student_id"], "kind": d["kind"],
        "day": d["date"], "starts": d.get("start_time"), "ends": d.get("end_time"), "title": d["period"],
        "detail": str(d["minutes_late"]) if d.get("minutes_late") else None, "cancelled": False, "updated_at": e.time,
    }
