"""Linking's read models, fed by events: the school directory and each child's record (from the
school system), the parents' verified emails (from identity), and linking's own links and
requests.

``apply`` serves both the live consumer and ``rebuild-projections``; every write is
order-tolerant (``servicekit.projection``).
"""
from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from contracts.fields import FORGOTTEN
from servicekit.children import Children
from servicekit.projection import by_type, mark, upsert_latest

from .domain import search_key
from .tables import (
    access_log, corrections, courses, guardians, links, organisations, parents, pins, reenrollment_answers,
    reenrollment_periods, schools, students, transport,
)

TABLES = [organisations, schools, students, guardians, pins, courses, transport, reenrollment_periods,
          reenrollment_answers, corrections, parents, links]

# Linking owns the links: they keep how each was proven and why one ended, and a parent is
# forgotten on linking's own unlink of a closed account (its own events come in order, so no
# tombstone is needed), once the service has said which links the closure broke.
children = Children(links, access_log, carried=("org_id", "method", "guardian_id", "reason"),
                    forgets=lambda e: e.type == "ChildUnlinked" and e.data["reason"] == "account_closed")


def apply(conn: Connection, events: list) -> None:
    groups = by_type(events)
    _directory(conn, groups)
    _record(conn, groups)
    _parents(conn, groups)
    _links(conn, groups)
    _requests(conn, groups)
    _forget(conn, groups)
    children.forget_students(conn, groups)


def _directory(conn, groups) -> None:
    registered = groups.get("SchoolRegistered", ())
    upsert_latest(conn, organisations, (
        {"org_id": e.data["org"]["id"], "name": e.data["org"]["name"], "kind": e.data["org"]["kind"],
         "search_key": search_key(e.data["org"]["name"]), "updated_at": e.time} for e in registered), ["org_id"])
    upsert_latest(conn, schools, (_school(e) for e in registered), ["school_id"])
    upsert_latest(conn, reenrollment_periods, (
        {"org_id": e.data["org_id"], "school_year": e.data["school_year"], "opens_on": e.data["opens_on"],
         "closes_on": e.data["closes_on"], "updated_at": e.time}
        for e in groups.get("ReenrollmentOpened", ())), ["org_id", "school_year"])


def _school(e) -> dict:
    s = e.data["school"]
    return {
        "school_id": s["id"], "org_id": e.data["org"]["id"], "name": s["name"], "level": s["level"],
        "address": dict(s["address"]), "phone": s["phone"], "email": s["email"], "website": s.get("website"),
        "principal_name": s["principal_name"], "contacts": [dict(c) for c in s["contacts"]],
        "tiles": list(s["tiles"]), "updated_at": e.time,
    }


def _record(conn, groups) -> None:
    enrolled = [*groups.get("StudentEnrolled", ()), *groups.get("StudentUpdated", ())]
    upsert_latest(conn, students, (_student(e) for e in enrolled), ["student_id"])
    mark(conn, students, groups.get("StudentWithdrawn", ()), ["student_id"], withdrawn=True)
    upsert_latest(conn, guardians, (
        {"student_id": e.data["student_id"], "guardian_id": e.data["guardian_id"], "name": e.data["name"],
         "email": e.data["email"].lower() if e.data.get("email") else None, "principal": e.data["principal"],
         "access": e.data["access"], "removed": False, "updated_at": e.time}
        for e in groups.get("GuardianAssigned", ())), ["student_id", "guardian_id"])
    mark(conn, guardians, groups.get("GuardianRemoved", ()), ["student_id", "guardian_id"], removed=True)
    upsert_latest(conn, pins, (
        {"student_id": e.data["student_id"], "guardian_id": e.data["guardian_id"], "pin_hash": e.data["pin_hash"],
         "expires_on": e.data["expires_on"], "used_at": None, "updated_at": e.time}
        for e in groups.get("GuardianPinIssued", ())), ["student_id", "guardian_id"])
    upsert_latest(conn, courses, (
        {"student_id": e.data["student_id"], "school_year": e.data["school_year"],
         "courses": [_course(c) for c in e.data["courses"]], "updated_at": e.time}
        for e in groups.get("CourseAssigned", ())), ["student_id", "school_year"])
    upsert_latest(conn, transport, (
        {"student_id": e.data["student_id"], "route": e.data["route"], "stop": e.data["stop"],
         "morning_pickup": e.data["morning_pickup"], "afternoon_dropoff": e.data["afternoon_dropoff"],
         "updated_at": e.time}
        for e in groups.get("TransportAssigned", ())), ["student_id"])


def _student(e) -> dict:
    d = e.data
    return {
        "student_id": d["student_id"], "org_id": d["org_id"], "school_id": d["school_id"],
        "student_number": d["student_number"], "permanent_code": d["permanent_code"], "last_name": d["last_name"],
        "first_name": d["first_name"], "grade": d["grade"], "group": d["group"], "withdrawn": False,
        # A forgotten child's birth date reads as the marker, which is no date.
        "birth_date": None if d["birth_date"] == FORGOTTEN else d["birth_date"], "updated_at": e.time,
    }


def _course(course) -> dict:
    # A teacher's email is on the bus only when the teacher chose to publish it.
    return {"code": course["code"], "name": course["name"], "teacher_name": course.get("teacher_name"),
            "teacher_email": course.get("teacher_email"), "group": course.get("group")}


def _parents(conn, groups) -> None:
    upsert_latest(conn, parents, (
        {"parent_id": e.data["parent_id"], "email": e.data["email"].lower(), "closed": False, "updated_at": e.time}
        for e in groups.get("ParentVerified", ())), ["parent_id"])
    upsert_latest(conn, parents, (
        {"parent_id": e.data["parent_id"], "email": e.data["new_email"].lower(), "closed": False,
         "updated_at": e.time}
        for e in groups.get("ParentEmailChanged", ())), ["parent_id"])
    # A tombstone without the email: an older ParentVerified replayed later cannot bring it back.
    mark(conn, parents, groups.get("ParentAccountClosed", ()), ["parent_id"], email=None, closed=True)


def _links(conn, groups) -> None:
    children.apply(conn, groups)
    for e in groups.get("ChildLinked", ()):
        if e.data["method"] == "pin":  # a PIN links once
            conn.execute(update(pins).where(
                pins.c.student_id == e.data["student_id"], pins.c.guardian_id == e.data.get("guardian_id"),
                pins.c.updated_at <= e.time).values(used_at=e.time))


def _requests(conn, groups) -> None:
    answers = [{"student_id": e.data["student_id"], "school_year": e.data["school_year"],
                "parent_id": e.data["parent_id"], "decision": e.data["decision"], "submitted_at": e.time}
               for e in groups.get("ReenrollmentSubmitted", ())]
    if answers:
        conn.execute(insert(reenrollment_answers).values(answers).on_conflict_do_nothing())
    upsert_latest(conn, corrections, (
        {"request_id": e.data["request_id"], "student_id": e.data["student_id"], "parent_id": e.data["parent_id"],
         "field": e.data["field"], "requested_value": e.data["requested_value"], "comment": e.data.get("comment"),
         "requested_at": e.time, "status": "pending", "updated_at": e.time}
        for e in groups.get("RecordCorrectionRequested", ())), ["request_id"])
    upsert_latest(conn, corrections, (
        {"request_id": e.data["request_id"], "student_id": e.data["student_id"], "status": e.data["status"],
         "resolution_comment": e.data.get("comment"), "updated_at": e.time}
        for e in groups.get("CorrectionResolved", ())), ["request_id"])


def _forget(conn, groups) -> None:
    """Law 25: a closed account's requests go; a re-enrolment answer stays the school's, without
    the parent. Last, so that a batch holding both a request and the closure forgets it too."""
    closed = [e.data["parent_id"] for e in groups.get("ParentAccountClosed", ())]
    if closed:
        conn.execute(delete(corrections).where(corrections.c.parent_id.in_(closed)))
        conn.execute(update(reenrollment_answers).where(reenrollment_answers.c.parent_id.in_(closed))
                     .values(parent_id=None))
