"""The attendance service: a child's absences and lateness, parents' declarations and
justifications, and the school calendar.

Entrypoints first; the rules are in ``domain``, the read models in ``projections``.
"""
from __future__ import annotations

from datetime import date, time

from marshmallow import Schema, fields, validate
from sqlalchemy import insert, select

from servicekit import errors, store
from servicekit.consumer import event_stream
from servicekit.database import Database
from servicekit.ops import Operations
from servicekit.relay import Relay
from servicekit.rpc import rpc

from . import domain, projections
from .tables import absences, access_log, calendars, declarations, links

ID = fields.String(required=True, validate=validate.Length(min=1, max=64))


class DeclarationSchema(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(load_default=None)
    kind = fields.String(required=True, validate=validate.OneOf(
        [domain.FULL_DAY, domain.LATE_ARRIVAL, domain.EARLY_DEPARTURE]))
    time = fields.Time(load_default=None)
    reason_code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    explanation = fields.String(load_default=None, validate=validate.Length(max=500))


class JustificationSchema(Schema):
    reason_code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    explanation = fields.String(load_default=None, validate=validate.Length(max=500))
    document_ref = fields.String(load_default=None, validate=validate.Length(max=200))


class ChildSchema(Schema):
    parent_id = ID
    student_id = ID


class AttendanceService:
    name = "attendance"

    db = Database()
    ops = Operations()
    relay = Relay()

    # -- events ---------------------------------------------------------------------------------

    @event_stream("sis", projections.SCHOOL_EVENTS)
    @event_stream("linking", projections.LINK_EVENTS)
    def take_in(self, events):
        with self.db.begin() as conn:
            fresh = store.admit(conn, events)
            projections.apply(conn, fresh)
        return fresh

    # -- queries --------------------------------------------------------------------------------

    @rpc
    def absences(self, parent_id, student_id):
        """The child's absences and lateness (newest first), those still to justify, the
        parents' declarations, and the reasons the school offers."""
        with self.db.begin() as conn:
            school_id = self._linked_school(conn, parent_id, student_id, "absences")
            rows = conn.execute(
                select(absences)
                .where(absences.c.student_id == student_id, absences.c.cancelled.is_(False),
                       absences.c.date.is_not(None))
                .order_by(absences.c.date.desc(), absences.c.start_time.desc().nulls_last())
            ).all()
            declared = conn.execute(
                select(declarations).where(declarations.c.student_id == student_id)
                .order_by(declarations.c.start_date.desc())
            ).all()
            calendar = self._calendar_row(conn, school_id, domain.school_today())
        listed = [_absence(row) for row in rows]
        return {
            "absences": listed,
            "to_justify": [a for a in listed if a["requires_justification"] and not a["justified"]],
            "declarations": [_declaration(row) for row in declared],
            "reasons": calendar.reasons if calendar is not None else [],
            "school_day": ({"start": calendar.day_start.strftime("%H:%M"), "end": calendar.day_end.strftime("%H:%M")}
                           if calendar is not None else None),
        }

    # -- commands -------------------------------------------------------------------------------

    @rpc
    def declare_absence(self, parent_id, student_id, declaration):
        """Tell the school about an upcoming absence; the school system receives
        ``AbsenceDeclared``."""
        request = errors.load(DeclarationSchema(), declaration)
        request["end_date"] = request["end_date"] or request["start_date"]

        def declare(conn):
            school_id = self._linked_school(conn, parent_id, student_id, "declare_absence")
            calendar = self._calendar(conn, school_id, request["start_date"])
            attendance = store.load(conn, domain.StudentAttendance, student_id)
            event = attendance.declare(parent_id, school_id, domain.Declaration(**request), calendar,
                                       domain.school_today(), self.ops.correlation_id)
            projections.apply(conn, store.save(conn, attendance))
            return {"declaration_id": event.data["declaration_id"]}

        return store.transact(self.db, declare)

    @rpc
    def justify_absence(self, parent_id, student_id, absence_id, justification):
        """Give the reason for an absence the school recorded; the school system receives
        ``AbsenceMotivated``."""
        request = errors.load(JustificationSchema(), justification)

        def justify(conn):
            school_id = self._linked_school(conn, parent_id, student_id, "justify_absence")
            row = conn.execute(select(absences).where(absences.c.absence_id == str(absence_id))).first()
            recorded = None if row is None or row.date is None else domain.RecordedAbsence(
                row.absence_id, row.student_id, row.cancelled, row.justified_at is not None)
            calendar = self._calendar(conn, school_id, row.date if row is not None and row.date else domain.school_today())
            attendance = store.load(conn, domain.StudentAttendance, student_id)
            attendance.justify(parent_id, recorded, request["reason_code"], request["explanation"],
                               request["document_ref"], calendar, self.ops.correlation_id)
            projections.apply(conn, store.save(conn, attendance))
            return {"absence_id": absence_id, "justified": True}

        return store.transact(self.db, justify)

    # -- helpers --------------------------------------------------------------------------------

    def _linked_school(self, conn, parent_id, student_id, what: str) -> str:
        """The child's school if the child is linked to the parent; else the same NotFound as for
        a child that does not exist. Every read is written to the access log."""
        errors.load(ChildSchema(), {"parent_id": parent_id, "student_id": student_id})
        school_id = conn.execute(
            select(links.c.school_id).where(
                links.c.parent_id == parent_id, links.c.student_id == student_id, links.c.linked.is_(True))
        ).scalar()
        if school_id is None:
            raise errors.NotFound("child_not_found")
        conn.execute(insert(access_log).values(parent_id=parent_id, student_id=student_id, what=what))
        return school_id

    def _calendar_row(self, conn, school_id: str, day: date):
        """The school's calendar of the year ``day`` falls in, else the next one to start."""
        return conn.execute(
            select(calendars).where(calendars.c.school_id == school_id, calendars.c.last_day >= day)
            .order_by(calendars.c.first_day).limit(1)
        ).first()

    def _calendar(self, conn, school_id: str, day: date) -> domain.SchoolCalendar | None:
        row = self._calendar_row(conn, school_id, day)
        if row is None:
            return None
        return domain.SchoolCalendar(
            school_id=row.school_id, first_day=row.first_day, last_day=row.last_day,
            days_off=frozenset(date.fromisoformat(d["date"]) for d in row.days_off),
            day_start=row.day_start, day_end=row.day_end, reasons=tuple(r["code"] for r in row.reasons))


def _absence(row) -> dict:
    return {
        "absence_id": row.absence_id, "date": row.date.isoformat(), "kind": row.kind, "period": row.period,
        "start_time": _hhmm(row.start_time), "end_time": _hhmm(row.end_time), "minutes_late": row.minutes_late,
        "reason_code": row.justification_reason or row.reason_code,
        "requires_justification": bool(row.requires_justification),
        "justified": row.justified_at is not None or (row.reason_code is not None),
    }


def _declaration(row) -> dict:
    return {
        "declaration_id": row.declaration_id, "start_date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat(), "kind": row.kind, "time": _hhmm(row.time),
        "reason_code": row.reason_code, "explanation": row.explanation,
        "declared_at": row.declared_at.isoformat(),
    }


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None
