"""Attendance's read models, fed by events: the school's absences and calendars, the parents'
declarations and justifications, and the parent↔child links this service answers for.

``apply`` serves both the live consumer and ``rebuild-projections``; every write is
order-tolerant (``servicekit.projection``).
"""
from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from contracts.fields import FORGOTTEN
from servicekit.children import Children
from servicekit.projection import by_type, row_of, upsert_latest

from .tables import absences, access_log, calendars, declarations, detentions, documents, links, timetables

TABLES = [absences, declarations, calendars, links, timetables, detentions]

children = Children(links, access_log)


def apply(conn: Connection, events: list) -> None:
    groups = by_type(events)
    upsert_latest(conn, absences, (_recorded(e) for e in groups.get("AbsenceRecorded", ())), ["absence_id"])
    upsert_latest(conn, absences, (_cancelled(e) for e in groups.get("AbsenceCancelled", ())), ["absence_id"])
    upsert_latest(conn, calendars, (_calendar(e) for e in groups.get("SchoolCalendarPublished", ())),
                  ["school_id", "school_year"])
    children.apply(conn, groups)
    upsert_latest(conn, timetables, (_timetable(e) for e in groups.get("TimetablePublished", ())),
                  ["student_id", "school_year"])
    upsert_latest(conn, detentions, (row_of(e, detentions) for e in groups.get("DetentionRecorded", ())),
                  ["detention_id"])
    declared = [_declared(e) for e in groups.get("AbsenceDeclared", ())]
    if declared:
        conn.execute(insert(declarations).on_conflict_do_nothing(), declared)
    for e in groups.get("AbsenceMotivated", ()):
        conn.execute(
            update(absences).where(absences.c.absence_id == e.data["absence_id"])
            .values(justified_at=e.time, justification_reason=e.data["reason_code"], justified_by=e.data["parent_id"])
        )
    _forget(conn, groups)
    children.forget_students(conn, groups)


def _forget(conn, groups) -> None:
    """Law 25: a closed account's documents go, and the school keeps its declarations and
    justifications without who gave them nor their words (the explanation reads forgotten, as it
    does in the store). Last, so that a batch holding both a justification and the closure
    forgets it too; again on a rebuild, where the closure comes after what it forgets."""
    closed = [e.data["parent_id"] for e in groups.get("ParentAccountClosed", ())]
    if closed:
        conn.execute(delete(documents).where(documents.c.parent_id.in_(closed)))
        conn.execute(update(declarations).where(declarations.c.parent_id.in_(closed),
                                                declarations.c.explanation.is_not(None))
                     .values(explanation=FORGOTTEN))
        conn.execute(update(absences).where(absences.c.justified_by.in_(closed)).values(justified_by=None))


def _recorded(e) -> dict:
    d = e.data
    return {
        "absence_id": d["absence_id"], "student_id": d["student_id"], "school_id": d["school_id"],
        "date": d["date"], "kind": d["kind"], "period": d["period"], "start_time": d.get("start_time"),
        "end_time": d.get("end_time"), "minutes_late": d.get("minutes_late"), "reason_code": d.get("reason_code"),
        "requires_justification": d["requires_justification"], "cancelled": False, "updated_at": e.time,
    }


def _cancelled(e) -> dict:
    """A tombstone: whatever the order the record and its cancellation arrive in, the row ends
    the same, cancelled and emptied."""
    empty = {column: None for column in _recorded_columns}
    return {**empty, "absence_id": e.data["absence_id"], "student_id": e.data["student_id"], "cancelled": True,
            "updated_at": e.time}


_recorded_columns = ("school_id", "date", "kind", "period", "start_time", "end_time", "minutes_late", "reason_code",
                     "requires_justification")


def _calendar(e) -> dict:
    d = e.data
    return {
        "school_id": d["school_id"], "school_year": d["school_year"], "first_day": d["first_day"],
        "last_day": d["last_day"],
        "days_off": [{"date": o["date"].isoformat(), "label": o.get("label")} for o in d.get("days_off", [])],
        "day_start": d["day_start"], "day_end": d["day_end"],
        "reasons": [dict(r) for r in d["absence_reasons"]], "updated_at": e.time,
    }


def _timetable(e) -> dict:
    d = e.data
    return {
        "student_id": d["student_id"], "school_year": d["school_year"], "cycle_length": d.get("cycle_length"),
        "entries": [{**entry, "start": entry["start"].strftime("%H:%M"), "end": entry["end"].strftime("%H:%M")}
                    for entry in d["entries"]],
        "updated_at": e.time,
    }


def _declared(e) -> dict:
    d = e.data
    return {
        "declaration_id": d["declaration_id"], "student_id": d["student_id"], "parent_id": d["parent_id"],
        "start_date": d["start_date"], "end_date": d["end_date"], "kind": d["kind"], "time": d.get("time"),
        "reason_code": d["reason_code"], "explanation": d.get("explanation"), "declared_at": e.time,
    }
