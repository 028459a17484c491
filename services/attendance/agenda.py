"""A child's agenda and the documents that support a justification: pure rules, tested without
a database.

Agenda: each day of a range is a school day or not (the school calendar attendance already
keeps: weekdays from the first to the last day, less the days off, whose label names the
holiday), and a school day carries the periods of the child's timetable for that day. A weekly
timetable is indexed by weekday (1 = Monday); a cycle timetable (e.g. 9 days) by the day of the
cycle, which advances on school days only, from 1 on the first day of school.

Documents: a photo or a PDF of a medical note, checked by declared type, by its first bytes (the
declared type must be the real one) and by size.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from servicekit.errors import DomainError

from .domain import SchoolCalendar

MAX_AGENDA_DAYS = 62
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# Declared type → how such a file begins.
DOCUMENT_SIGNATURES = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}


@dataclass(frozen=True)
class Timetable:
    school_year: str
    cycle_length: int | None
    entries: tuple[dict, ...]


@dataclass(frozen=True)
class CalendarYear:
    """A school year's calendar, with the label of each day off (holiday, pedagogical day)."""

    school_year: str
    calendar: SchoolCalendar
    labels: dict[date, str]


def check_range(start: date, end: date) -> None:
    if end < start:
        raise DomainError("end_before_start", field="end")
    if (end - start).days + 1 > MAX_AGENDA_DAYS:
        raise DomainError("range_too_long", field="end", params={"max_days": MAX_AGENDA_DAYS})


def days(start: date, end: date, years: list[CalendarYear], timetables: dict[str, Timetable]) -> list[dict]:
    """Each day from ``start`` to ``end``: whether school is on, the day off's label, the day of
    the timetable and its periods (``timetables`` by school year)."""
    answer = []
    day = start
    while day <= end:
        year = next((y for y in years if y.calendar.first_day <= day <= y.calendar.last_day), None)
        entry = {"date": day.isoformat(), "school_day": False, "day_off": year.labels.get(day) if year else None,
                 "timetable_day": None, "periods": []}
        if year is not None and year.calendar.is_school_day(day):
            entry["school_day"] = True
            timetable = timetables.get(year.school_year)
            if timetable is not None:
                entry["timetable_day"] = _timetable_day(year.calendar, timetable, day)
                entry["periods"] = sorted((p for p in timetable.entries if p["day"] == entry["timetable_day"]),
                                          key=lambda p: p["start"])
        answer.append(entry)
        day += timedelta(days=1)
    return answer


def _timetable_day(calendar: SchoolCalendar, timetable: Timetable, day: date) -> int:
    if timetable.cycle_length is None:
        return day.isoweekday()
    school_days_before = sum(1 for n in range((day - calendar.first_day).days)
                             if calendar.is_school_day(calendar.first_day + timedelta(days=n)))
    return school_days_before % timetable.cycle_length + 1


def check_document(content_type: str, content: bytes) -> None:
    """A supporting document: one of the allowed types, really of that type, not empty, not
    larger than the limit."""
    signature = DOCUMENT_SIGNATURES.get(content_type)
    if signature is None:
        raise DomainError("document_type_not_allowed", field="document.content_type",
                          params={"allowed": "PDF, JPEG, PNG"})
    if not content:
        raise DomainError("document_empty", field="document.content_base64")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise document_too_large()
    if not content.startswith(signature):
        raise DomainError("document_type_mismatch", field="document.content_base64")


def document_too_large() -> DomainError:
    return DomainError("document_too_large", field="document.content_base64",
                       params={"max_mb": MAX_DOCUMENT_BYTES // (1024 * 1024)})
