"""Attendance's rules: declaring an upcoming absence and justifying one the school recorded.

Pure Python: the service layer hands in what it read (the school's calendar, the absence, the
parent's link) and stores what comes out.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time

from contracts import Envelope
from servicekit.schooltime import school_today  # noqa: F401  (the service asks its domain for the date)
from servicekit.aggregate import OncePerId
from servicekit.errors import Conflict, DomainError, NotFound


FULL_DAY, LATE_ARRIVAL, EARLY_DEPARTURE = "full_day", "late_arrival", "early_departure"


@dataclass(frozen=True)
class SchoolCalendar:
    """What the school published: its days, its bell times and its list of absence reasons."""

    school_id: str
    first_day: date
    last_day: date
    days_off: frozenset[date]
    day_start: time
    day_end: time
    reasons: tuple[str, ...]

    def is_school_day(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day and day.weekday() < 5 and day not in self.days_off


@dataclass(frozen=True)
class Declaration:
    """A parent's notice of an upcoming absence, as validated by the service's schema."""

    start_date: date
    end_date: date
    kind: str
    time: time | None
    reason_code: str
    explanation: str | None


def check_declaration(declaration: Declaration, calendar: SchoolCalendar | None, today: date) -> None:
    """Raise the first rule the declaration breaks, naming the field."""
    if calendar is None:
        raise DomainError("calendar_unavailable")
    if declaration.start_date < today:
        raise DomainError("date_in_past", field="start_date")
    if declaration.end_date < declaration.start_date:
        raise DomainError("end_before_start", field="end_date")
    if declaration.kind != FULL_DAY and declaration.end_date != declaration.start_date:
        raise DomainError("single_day_only", field="end_date")
    if not calendar.is_school_day(declaration.start_date):
        raise DomainError("not_a_school_day", field="start_date")
    if not calendar.is_school_day(declaration.end_date):
        raise DomainError("not_a_school_day", field="end_date")
    if declaration.kind != FULL_DAY:
        if declaration.time is None:
            raise DomainError("required", field="time")
        if not calendar.day_start < declaration.time < calendar.day_end:
            raise DomainError("time_outside_school_day", field="time",
                              params={"start": calendar.day_start.strftime("%H:%M"),
                                      "end": calendar.day_end.strftime("%H:%M")})
    if declaration.reason_code not in calendar.reasons:
        raise DomainError("invalid_choice", field="reason_code")


def is_justified(by_parent: bool, school_reason: str | None) -> bool:
    """An absence is justified once a parent gave its reason, or when the school recorded it
    with one."""
    return by_parent or school_reason is not None


def to_justify(absences: list[dict]) -> list[dict]:
    """What the parent is asked to justify: the absences the school wants a reason for and that
    no one gave one for (``requires_justification``, ``justified`` as the service lists them)."""
    return [a for a in absences if a["requires_justification"] and not a["justified"]]


@dataclass(frozen=True)
class RecordedAbsence:
    """An absence or lateness as the school recorded it (from the read model)."""

    absence_id: str
    student_id: str
    cancelled: bool
    justified: bool


class StudentAttendance(OncePerId):
    """What parents told the school about one student: declarations and justifications.

    Its stream, keyed by the student id like the school's events about the student, holds the
    parents' own events; the invariant it guards is that an absence is justified once.
    """

    source = "attendance"
    adds = {"AbsenceMotivated": "absence_id"}

    @property
    def justified(self) -> set[str]:
        return self.ids

    def declare(self, parent_id: str, school_id: str, declaration: Declaration, calendar: SchoolCalendar | None,
                today: date, correlation_id: str) -> Envelope:
        check_declaration(declaration, calendar, today)
        data = {
            "declaration_id": str(uuid.uuid4()),
            "student_id": self.key,
            "school_id": school_id,
            "parent_id": parent_id,
            "start_date": declaration.start_date,
            "end_date": declaration.end_date,
            "kind": declaration.kind,
            "reason_code": declaration.reason_code,
        }
        if declaration.time is not None:
            data["time"] = declaration.time
        if declaration.explanation:
            data["explanation"] = declaration.explanation
        return self.record("AbsenceDeclared", data, correlation_id)

    def justify(self, parent_id: str, absence: RecordedAbsence | None, reason_code: str, explanation: str | None,
                document_ref: str | None, calendar: SchoolCalendar | None, correlation_id: str) -> Envelope:
        if absence is None or absence.cancelled or absence.student_id != self.key:
            raise NotFound("absence_not_found", field="absence_id")
        if absence.justified or absence.absence_id in self.justified:
            raise Conflict("already_justified", field="absence_id")
        if calendar is not None and reason_code not in calendar.reasons:
            raise DomainError("invalid_choice", field="reason_code")
        data = {"absence_id": absence.absence_id, "student_id": self.key, "parent_id": parent_id,
                "reason_code": reason_code}
        if explanation:
            data["explanation"] = explanation
        if document_ref:
            data["document_ref"] = document_ref
        return self.record("AbsenceMotivated", data, correlation_id)
