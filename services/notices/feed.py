"""A parent's private calendar: absences, detentions, homework due dates and school holidays of
their children, as an iCalendar (RFC 5545) document that phone calendars subscribe to.

Pure Python: the service reads the entries and hands them in.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import icalendar

from .domain import SCHOOL_TIME

PRODID = "-//Portail Parents//Calendrier//FR"
UID_DOMAIN = "portail-parents.local"
TOKEN_BYTES = 32  # 256 bits: the URL is the only key to the feed

WORDS = {
    "name": {"fr": "Portail Parents", "en": "Portail Parents"},
    "absence": {"fr": "Absence", "en": "Absence"},
    "lateness": {"fr": "Retard", "en": "Lateness"},
    "detention": {"fr": "Retenue", "en": "Detention"},
    "homework": {"fr": "Devoir à remettre", "en": "Homework due"},
    "holiday": {"fr": "Congé", "en": "No school"},
    "minutes_late": {"fr": "{} min de retard", "en": "{} min late"},
}


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_token(value) -> bool:
    return isinstance(value, str) and len(value) == 43 and value.replace("-", "").replace("_", "").isalnum() \
        and value.isascii()


@dataclass(frozen=True)
class Entry:
    """One dated entry of a child's agenda (from the read model)."""

    entry_id: str
    child: str
    kind: str  # absence, lateness, detention, homework
    day: date
    starts: time | None
    ends: time | None
    title: str | None
    detail: str | None
    stamp: datetime


@dataclass(frozen=True)
class Holiday:
    school_id: str
    day: date
    label: str
    stamp: datetime


def calendar(entries: list[Entry], holidays: list[Holiday], locale: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", WORDS["name"][locale])
    cal.add("x-wr-timezone", str(SCHOOL_TIME))
    for entry in entries:
        cal.add_component(_event(entry, locale))
    for holiday in holidays:
        event = _base(f"holiday.{holiday.school_id}.{holiday.day.isoformat()}", holiday.stamp)
        event.add("summary", f"{WORDS['holiday'][locale]} : {holiday.label}" if locale == "fr"
                  else f"{WORDS['holiday'][locale]}: {holiday.label}")
        _all_day(event, holiday.day)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _event(entry: Entry, locale: str) -> icalendar.Event:
    event = _base(entry.entry_id.replace(":", "."), entry.stamp)
    label = WORDS[entry.kind][locale]
    separator = " : " if locale == "fr" else ": "
    summary = f"{label} — {entry.child}"
    if entry.kind in ("detention", "homework") and entry.title:
        summary = f"{label}{separator}{entry.title} — {entry.child}"
    event.add("summary", summary)
    description = entry.detail
    if entry.kind == "lateness" and entry.detail:
        description = WORDS["minutes_late"][locale].format(entry.detail)
    if description:
        event.add("location" if entry.kind == "detention" else "description", description)
    if entry.starts is not None:
        start = datetime.combine(entry.day, entry.starts, SCHOOL_TIME)
        end = datetime.combine(entry.day, entry.ends, SCHOOL_TIME) if entry.ends else start + timedelta(minutes=30)
        event.add("dtstart", start)
        event.add("dtend", end)
    else:
        _all_day(event, entry.day)
    return event


def _base(uid: str, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{uid}@{UID_DOMAIN}")
    event.add("dtstamp", stamp.astimezone(timezone.utc))
    return event


def _all_day(event: icalendar.Event, day: date) -> None:
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
