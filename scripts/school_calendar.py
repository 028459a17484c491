"""A typical Québec school year, as a school service centre publishes it, for any year.

The demo and the tests publish the school years around their day (the school clock's, which
tests may set), so that nothing they say ages: the same dates come out of the same rules every
year. Statutory holidays, the holiday break, spring break and pedagogical days follow the usual
pattern of a CSS calendar; a real school's calendar comes from its own school system.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.easter import easter

from servicekit.schooltime import school_today, school_year_of


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based; -1 for the last) given weekday (Monday 0) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _weekdays(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


MONDAY, FRIDAY = 0, 4


def _monday_on_or_before(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class SchoolYear:
    name: str
    first_day: dt.date
    last_day: dt.date
    days_off: dict  # date -> label (French, as schools publish it)

    def is_school_day(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day and day.weekday() < 5 and day not in self.days_off

    def school_days(self) -> list[dt.date]:
        return [day for day in _weekdays(self.first_day, self.last_day) if day not in self.days_off]

    def calendar(self, school_id: str, absence_reasons: list[dict], day_start="08:00", day_end="15:05") -> dict:
        """The data of this year's ``SchoolCalendarPublished`` for a school."""
        return {"school_id": school_id, "school_year": self.name, "first_day": self.first_day,
                "last_day": self.last_day, "days_off": [{"date": day, "label": label}
                                                        for day, label in sorted(self.days_off.items())],
                "day_start": day_start, "day_end": day_end, "absence_reasons": absence_reasons}


def school_year(start: int) -> SchoolYear:
    """The school year that begins in late August of ``start``."""
    end = start + 1
    first = dt.date(start, 8, 27)
    while first.weekday() >= 5:
        first += dt.timedelta(days=1)
    last = dt.date(end, 6, 22)
    while last.weekday() >= 5:
        last -= dt.timedelta(days=1)
    off = {_nth_weekday(start, 9, MONDAY, 1): "Fête du Travail",
           _nth_weekday(start, 10, MONDAY, 2): "Action de grâce",
           _monday_on_or_before(dt.date(end, 5, 24)): "Journée nationale des patriotes"}
    for year, month in ((start, 9), (start, 10), (start, 11), (end, 1), (end, 2), (end, 4)):
        off.setdefault(_nth_weekday(year, month, FRIDAY, -1), "Journée pédagogique")
    for day in _weekdays(dt.date(start, 12, 23), dt.date(end, 1, 5)):
        off[day] = "Vacances des Fêtes"
    spring_break = _nth_weekday(end, 3, MONDAY, 1)
    for day in _weekdays(spring_break, spring_break + dt.timedelta(days=4)):
        off[day] = "Semaine de relâche"
    sunday = easter(end)
    off[sunday - dt.timedelta(days=2)] = "Vendredi saint"
    off[sunday + dt.timedelta(days=1)] = "Lundi de Pâques"
    return SchoolYear(f"{start}-{end}", first, last, {day: label for day, label in off.items() if first <= day <= last})


def current_year(day: dt.date | None = None) -> SchoolYear:
    """The school year ``day`` (default: the school's today) belongs to: from 1 July, the coming one."""
    day = day or school_today()
    return school_year(int(school_year_of(day)[:4]))


def around(day: dt.date | None = None) -> list[SchoolYear]:
    """The previous and the current school year of ``day``: what a school has published by then."""
    current = current_year(day)
    return [school_year(current.first_day.year - 1), current]


def next_school_day(after: dt.date | None = None) -> dt.date:
    """The first school day after ``after`` (default: the school's today)."""
    after = after or school_today()
    year = current_year(after)
    days = [day for day in year.school_days() if day > after]
    return days[0] if days else school_year(year.first_day.year + 1).school_days()[0]


def last_school_day(before: dt.date | None = None) -> dt.date:
    """The last school day before ``before`` (default: the school's today)."""
    before = before or school_today()
    for year in reversed(around(before)):
        days = [day for day in year.school_days() if day < before]
        if days:
            return days[-1]
    raise ValueError(f"no school day before {before}")
