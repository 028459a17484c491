"""School time: the one clock of the domains. Québec's schools keep Eastern time, whatever the
server's clock says. Pure Python, so that domains use it.

Tests set the day the whole stack lives on with ``PORTAL_SCHOOL_DAY=YYYY-MM-DD``: the clock then
runs from that day's current time of day, shifted by whole days, so durations stay real. Only a
process started with the test settings (``PORTAL_TEST_SETTINGS=1``) accepts it; any other refuses
to start, so that production can never live on a set day by mistake.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SCHOOL_TIME = ZoneInfo("America/Toronto")
FIRST_MONTH = 7  # Québec's school year runs from July 1 to June 30 (Education Act, s. 16)
SET_DAY_VARIABLE = "PORTAL_SCHOOL_DAY"
TEST_SETTINGS_VARIABLE = "PORTAL_TEST_SETTINGS"


class SetDayRefused(RuntimeError):
    """A set day outside the test settings."""


def set_day() -> date | None:
    """The day the tests set, or None on the real calendar. Raises ``SetDayRefused`` when a day
    is set without the test settings."""
    value = os.environ.get(SET_DAY_VARIABLE, "").strip()
    if not value:
        return None
    if os.environ.get(TEST_SETTINGS_VARIABLE) != "1":
        raise SetDayRefused(f"{SET_DAY_VARIABLE} is set but {TEST_SETTINGS_VARIABLE} is not 1: "
                            "a set school day is for tests only")
    return date.fromisoformat(value)


def _shift() -> timedelta:
    day = set_day()
    if day is None:
        return timedelta(0)
    return timedelta(days=(day - datetime.now(SCHOOL_TIME).date()).days)


def school_now() -> datetime:
    """Now, as an aware UTC datetime, on the set day when tests set one."""
    return datetime.now(timezone.utc) + _shift()


def school_today(now: datetime | None = None) -> date:
    """The school's date now (or at ``now``, an aware datetime)."""
    return (now or school_now()).astimezone(SCHOOL_TIME).date()


def school_year_of(day: date) -> str:
    """The school year a day belongs to, e.g. "2026-2027"."""
    start = day.year if day.month >= FIRST_MONTH else day.year - 1
    return f"{start}-{start + 1}"


def readiness_note() -> dict:
    """What ``/readyz`` adds when the process lives on a set day, so that nobody mistakes it."""
    day = set_day()
    return {"school_clock": f"set to {day.isoformat()} (test settings)"} if day else {}


set_day()  # a process importing the clock with a day set outside the test settings stops here
