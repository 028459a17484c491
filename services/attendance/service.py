"""The attendance service: a child's absences and lateness, parents' declarations and
justifications (with a supporting document), the school calendar and the child's agenda.

Entrypoints first; the rules are in ``domain``, the read models in ``projections``.
"""
from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import date, time, timedelta

from sqlalchemy import insert, select

from servicekit import errors, store
from servicekit.children import ParentSchema
from servicekit.consumer import event_streams
from servicekit.privacy import Privacy
from servicekit.projection import take_in
from servicekit.relay import Relay
from servicekit.rpc import rpc
from servicekit.service import Service

from . import agenda as agendas
from . import domain, projections
from .projections import children
from .schemas import AgendaSchema, DeclarationSchema, DocumentRefSchema, JustificationSchema
from .tables import absences, calendars, declarations, detentions, documents, timetables


commands = store.Commands(projections.apply)


class AttendanceService(Service, Privacy):
    name = "attendance"

    relay = Relay()

    # -- events ---------------------------------------------------------------------------------

    @event_streams(name)
    def take_in(self, events):
        return take_in(self.db, events, projections.apply)

    # -- queries --------------------------------------------------------------------------------

    @rpc
    def absences(self, parent_id, student_id):
        """The child's absences and lateness (newest first), those still to justify, the
        parents' declarations, and the reasons the school offers."""
        with self.db.begin() as conn:
            school_id = children.school_of(conn, parent_id, student_id, "absences")
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
            "to_justify": domain.to_justify(listed),
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

        def declare(unit):
            school_id = children.school_of(unit.conn, parent_id, student_id, "declare_absence")
            calendar = self._calendar(unit.conn, school_id, request["start_date"])
            attendance = unit.load(domain.StudentAttendance, student_id)
            event = attendance.declare(parent_id, school_id, domain.Declaration(**request), calendar,
                                       domain.school_today(), self.ops.correlation_id)
            unit.save(attendance)
            return {"declaration_id": event.data["declaration_id"]}

        return commands.run(self.db, declare)

    @rpc
    def agenda(self, parent_id, student_id, start=None, end=None):
        """The child's agenda from ``start`` (today by default) to ``end`` (a week by default, at
        most ``agenda.MAX_AGENDA_DAYS`` days): each day, whether school is on or the holiday's
        name, the timetable's day and its periods; the detentions of the range; bell times."""
        request = errors.load(AgendaSchema(), {"parent_id": parent_id, "student_id": student_id,
                                               "start": start, "end": end})
        first = request["start"] or domain.school_today()
        last = request["end"] or first + timedelta(days=6)
        agendas.check_range(first, last)
        with self.db.begin() as conn:
            school_id = children.school_of(conn, parent_id, student_id, "agenda")
            years = conn.execute(
                select(calendars).where(calendars.c.school_id == school_id, calendars.c.first_day <= last,
                                        calendars.c.last_day >= first).order_by(calendars.c.first_day)).all()
            published = conn.execute(select(timetables).where(
                timetables.c.student_id == student_id,
                timetables.c.school_year.in_([y.school_year for y in years]))).all()
            detained = conn.execute(
                select(detentions).where(detentions.c.student_id == student_id, detentions.c.date >= first,
                                         detentions.c.date <= last)
                .order_by(detentions.c.date, detentions.c.start)).all()
        days = agendas.days(
            first, last,
            [agendas.CalendarYear(y.school_year, _school_calendar(y),
                                  {date.fromisoformat(d["date"]): d.get("label") for d in y.days_off}) for y in years],
            {t.school_year: agendas.Timetable(t.school_year, t.cycle_length, tuple(t.entries)) for t in published})
        return {
            "start": first.isoformat(), "end": last.isoformat(), "days": days,
            "detentions": [_detention(row) for row in detained],
            "bell_times": [{"school_year": y.school_year, "start": _hhmm(y.day_start), "end": _hhmm(y.day_end)}
                           for y in years],
        }

    @rpc
    def export(self, parent_id):
        """Everything attendance holds on the parent and their linked children (Law 25): links,
        each child's absences, agenda (timetables, detentions), the parent's declarations and the
        documents they attached, and the parent's reads."""
        errors.load(ParentSchema(), {"parent_id": parent_id})
        with self.db.begin() as conn:
            linked = children.of_parent(conn, parent_id)
            children.log(conn, parent_id, linked, "export")
            held = []
            for student_id in linked:
                held.append({
                    "student_id": student_id,
                    "absences": [_absence(row) for row in conn.execute(
                        select(absences).where(absences.c.student_id == student_id,
                                               absences.c.cancelled.is_(False), absences.c.date.is_not(None))
                        .order_by(absences.c.date))],
                    "timetables": [{"school_year": row.school_year, "cycle_length": row.cycle_length,
                                    "entries": row.entries} for row in conn.execute(
                        select(timetables).where(timetables.c.student_id == student_id))],
                    "detentions": [_detention(row) for row in conn.execute(
                        select(detentions).where(detentions.c.student_id == student_id)
                        .order_by(detentions.c.date))],
                })
            declared = conn.execute(select(declarations).where(declarations.c.parent_id == parent_id)
                                    .order_by(declarations.c.declared_at)).all()
            attached = conn.execute(select(documents).where(documents.c.parent_id == parent_id)
                                    .order_by(documents.c.created_at)).all()
            links_held, reads = children.links_of(conn, parent_id), children.accesses(conn, parent_id)
            stored = store.about_parent(conn, parent_id)
        return {
            "service": "attendance", "parent_id": parent_id,
            "links": links_held,
            "children": held,
            "declarations": [{"student_id": row.student_id, **_declaration(row)} for row in declared],
            "documents": [_document(row) for row in attached],
            "access_log": reads,
            "events": stored,
        }

    @rpc
    def fetch_document(self, document_ref):
        """For the school system, never routed by the gateway: the document a parent attached to
        a justification, by the ``document_ref`` of ``AbsenceMotivated``."""
        request = errors.load(DocumentRefSchema(), {"document_ref": document_ref})
        with self.db.begin() as conn:
            row = conn.execute(select(documents).where(documents.c.document_ref == request["document_ref"])).first()
        if row is None:
            raise errors.NotFound("document_not_found", field="document_ref")
        return _document(row)

    @rpc
    def justify_absence(self, parent_id, student_id, absence_id, justification):
        """Give the reason for an absence the school recorded; the school system receives
        ``AbsenceMotivated``. A supporting document (photo or PDF of a medical note) comes in the
        same request as ``justification["document"] = {"content_type", "content_base64"}``: it is
        checked (type, real type, size), stored with the justification in one transaction, and
        its reference is the event's ``document_ref``, which the school system gives to
        ``fetch_document``."""
        request = errors.load(JustificationSchema(), justification)
        document = request.pop("document")
        if document is not None:
            if request["document_ref"]:
                raise errors.DomainError("document_and_reference", field="document_ref")
            agendas.check_document(document["content_type"], document["content_base64"])
            request["document_ref"] = f"doc-{uuid.uuid4()}"

        def justify(unit):
            conn = unit.conn
            school_id = children.school_of(conn, parent_id, student_id, "justify_absence")
            row = conn.execute(select(absences).where(absences.c.absence_id == str(absence_id))).first()
            recorded = None if row is None or row.date is None else domain.RecordedAbsence(
                row.absence_id, row.student_id, row.cancelled, row.justified_at is not None)
            calendar = self._calendar(conn, school_id, row.date if row is not None and row.date else domain.school_today())
            attendance = unit.load(domain.StudentAttendance, student_id)
            attendance.justify(parent_id, recorded, request["reason_code"], request["explanation"],
                               request["document_ref"], calendar, self.ops.correlation_id)
            unit.save(attendance)
            if document is not None:
                content = document["content_base64"]
                conn.execute(insert(documents).values(
                    document_ref=request["document_ref"], absence_id=str(absence_id), student_id=student_id,
                    parent_id=parent_id, content_type=document["content_type"], size_bytes=len(content),
                    sha256=hashlib.sha256(content).hexdigest(), content=content))
            return {"absence_id": absence_id, "justified": True}

        return commands.run(self.db, justify)

    # -- helpers --------------------------------------------------------------------------------

    def _calendar_row(self, conn, school_id: str, day: date):
        """The school's calendar of the year ``day`` falls in, else the next one to start."""
        return conn.execute(
            select(calendars).where(calendars.c.school_id == school_id, calendars.c.last_day >= day)
            .order_by(calendars.c.first_day).limit(1)
        ).first()

    def _calendar(self, conn, school_id: str, day: date) -> domain.SchoolCalendar | None:
        row = self._calendar_row(conn, school_id, day)
        return None if row is None else _school_calendar(row)


def _school_calendar(row) -> domain.SchoolCalendar:
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
        "justified": domain.is_justified(row.justified_at is not None, row.reason_code),
    }


def _declaration(row) -> dict:
    return {
        "declaration_id": row.declaration_id, "start_date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat(), "kind": row.kind, "time": _hhmm(row.time),
        "reason_code": row.reason_code, "explanation": row.explanation,
        "declared_at": row.declared_at.isoformat(),
    }


def _detention(row) -> dict:
    return {"detention_id": row.detention_id, "date": row.date.isoformat(), "start": _hhmm(row.start),
            "end": _hhmm(row.end), "reason": row.reason, "location": row.location}


def _document(row) -> dict:
    return {"document_ref": row.document_ref, "absence_id": row.absence_id, "student_id": row.student_id,
            "content_type": row.content_type, "size_bytes": row.size_bytes, "sha256": row.sha256,
            "content_base64": base64.b64encode(row.content).decode(), "attached_at": row.created_at.isoformat()}


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None
