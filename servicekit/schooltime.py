"""School time: Québec's schools keep Eastern time, whatever the server's clock says. Pure Python,
so that domains use it."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SCHOOL_TIME = ZoneInfo("America/Toronto")


def school_today(now: datetime | None = None) -> date:
    """The school's date now (or at ``now``, an aware datetime)."""
    return (now or datetime.now(SCHOOL_TIME)).astimezone(SCHOOL_TIME).date()
