"""Notices' rules: who a message reaches, when a parent's mail goes out, and which screen it leads to.

Pure Python: the service hands in rows it read and stores what comes out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote

from servicekit.schooltime import SCHOOL_TIME

# What a parent can be told about, each with its own choice per child.
KINDS = ("message", "absence", "bulletin", "statement", "detention", "reenrollment")
INSTANT, DIGEST, OFF = "instant", "digest", "off"
MODES = (INSTANT, DIGEST, OFF)
DEFAULT_MODE = INSTANT
QUIET_START, QUIET_END = time(21, 0), time(7, 0)
# Without quiet hours the daily digest still needs an hour: the usual end of quiet hours.
DIGEST_HOUR = QUIET_END
# Older news is not mailed: replaying a school's backlog must not flood parents' mailboxes.
NEWS_WINDOW = timedelta(days=2)


@dataclass(frozen=True)
class Child:
    """Where a parent's child is, as notices knows it."""

    student_id: str
    org_id: str | None
    school_id: str | None
    group: str | None


def reaches(audience: dict, child: Child) -> bool:
    """Whether a message for ``audience`` (board, school, group or one student) is for ``child``."""
    scope = audience["scope"]
    if scope == "student":
        return audience["student_id"] == child.student_id
    if audience["org_id"] != child.org_id:
        return False
    if scope == "org":
        return True
    if audience["school_id"] != child.school_id:
        return False
    return scope == "school" or (child.group is not None and audience["group"] == child.group)


def strongest(modes) -> str:
    """The mode of a notice about several children: the most immediate of their choices."""
    modes = set(modes)
    return next((m for m in MODES if m in modes), OFF)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def holds(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # over midnight, as by default


DEFAULT_QUIET_HOURS = QuietHours(QUIET_START, QUIET_END)


def _next(at: datetime, hour: time) -> datetime:
    """The first moment at or after ``at`` whose school-time clock reads ``hour``."""
    local = at.astimezone(SCHOOL_TIME)
    candidate = datetime.combine(local.date(), hour, SCHOOL_TIME)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), hour, SCHOOL_TIME)
    return candidate


def when_to_send(mode: str, at: datetime, quiet: QuietHours | None,
                 not_before: date | None = None) -> tuple[bool, datetime] | None:
    """``(digest, due_at)`` for a notice that happened ``at``, or None when the parent turned
    this kind off. What falls in quiet hours waits for their end; a digest goes out once a day,
    when the quiet hours end; a document visible from a date is not announced before it."""
    if mode == OFF:
        return None
    if not_before is not None:
        at = max(at, datetime.combine(not_before, time(0, 0), SCHOOL_TIME))
    if mode == DIGEST:
        return True, _next(at, quiet.end if quiet else DIGEST_HOUR)
    if quiet and quiet.holds(at.astimezone(SCHOOL_TIME).time()):
        return False, _next(at, quiet.end)
    return False, at


def is_news(happened: datetime, now: datetime) -> bool:
    return now - happened <= NEWS_WINDOW


def retry_delay(attempts: int, first: float = 2.0) -> timedelta:
    """Back-off after ``attempts`` failed tries of a mail: ``first``, twice that, … up to 5 min."""
    return timedelta(seconds=min(first * 2 ** (attempts - 1), 300))


# The web client's screen that shows each kind of news (web/src/main.ts); news about several
# children leads to the screen that shows them all.
SCREENS = {"absence": "absences", "bulletin": "results", "statement": "finances", "detention": "agenda",
           "message": "messages", "reenrollment": "reenrollment"}
FAMILY_SCREENS = {"message": "/messages"}
PREFERENCES_SCREEN = "/compte"
DIGEST_SCREEN = "/famille"


def screen(kind: str, student_ids: list[str]) -> str:
    """The path of the screen a mail about ``kind`` links to."""
    if len(student_ids) == 1:
        return f"/enfants/{quote(student_ids[0], safe='')}/{SCREENS[kind]}"
    return FAMILY_SCREENS.get(kind, DIGEST_SCREEN)
