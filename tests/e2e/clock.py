"""The browser lives on the school clock too: when the tests set the day (PORTAL_SCHOOL_DAY), the
page's Date starts on that day, so that what the web client computes from today (the earliest
date to declare, this week's homework, the agenda's week) agrees with the services."""
from servicekit.schooltime import school_now, set_day

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")


def follow_school_clock(context) -> None:
    """Set a Playwright browser context's clock to the school's now, when the tests set a day."""
    if set_day() is not None:
        context.clock.set_system_time(school_now())


def long_date_fr(day) -> str:
    """A date as the French page writes it, e.g. « 2 décembre 2026 »."""
    return f"{day.day} {MONTHS_FR[day.month - 1]} {day.year}"
