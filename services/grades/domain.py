"""Grades' rules: which school years exist, what a parent may see and when, and the school's
display settings. Pure Python, tested without a database.

Unknown students: grades has no school directory, so a result about a student nobody is linked
to yet is accepted and kept (the school publishes before parents link); it is shown only to a
parent linked to that student. What is refused, and dead-lettered with the reason, is what cannot
be true: a result for a school year that has not begun when the school published it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from servicekit.errors import DomainError
from servicekit.schooltime import school_today, school_year_of  # noqa: F401  (the service asks its domain)


def check_school_year(school_year: str, published_at: datetime) -> None:
    """A result belongs to a school year that has begun when the school publishes it."""
    current = school_year_of(school_today(published_at))
    if school_year > current:
        raise DomainError("unknown_school_year", field="data.school_year",
                          params={"school_year": school_year, "current": current})


@dataclass(frozen=True)
class DisplayRules:
    """What a school shows in the results tile. Until a school says otherwise, group averages
    stay hidden (never shown by mistake) and teachers' assignment results are shown."""

    show_group_averages: bool = False
    show_assignment_results: bool = True


def is_visible(visible_from: date | None, today: date) -> bool:
    """Before its "visible from" date, a document does not exist for the parent."""
    return visible_from is None or visible_from <= today


def shown_subjects(subjects: list[dict], rules: DisplayRules) -> list[dict]:
    """A bulletin's subjects as the parent may see them: without the group average when the
    school hides it."""
    if rules.show_group_averages:
        return subjects
    return [{k: v for k, v in subject.items() if k != "group_average"} for subject in subjects]


def shown_assignment(result: dict, rules: DisplayRules) -> dict:
    if rules.show_group_averages:
        return result
    return {k: v for k, v in result.items() if k != "group_average"}
