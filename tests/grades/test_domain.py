"""Grades' rules, without servers."""
from datetime import date, datetime, timezone

import pytest

from services.grades import domain
from servicekit.errors import DomainError


@pytest.mark.parametrize("day, year", [
    (date(2026, 6, 30), "2025-2026"), (date(2026, 7, 1), "2026-2027"), (date(2027, 1, 15), "2026-2027"),
])
def test_the_school_year_starts_on_july_first(day, year):
    assert domain.school_year_of(day) == year


def test_a_result_for_a_year_that_has_not_begun_is_refused():
    published = datetime(2026, 11, 20, 15, tzinfo=timezone.utc)
    domain.check_school_year("2026-2027", published)
    domain.check_school_year("2019-2020", published)  # previous years stay publishable
    with pytest.raises(DomainError) as refused:
        domain.check_school_year("2027-2028", published)
    assert (refused.value.code, refused.value.field) == ("unknown_school_year", "data.school_year")


def test_the_school_year_is_read_in_school_time():
    # 03:00 UTC on July 1 is still June 30 in Québec.
    with pytest.raises(DomainError):
        domain.check_school_year("2026-2027", datetime(2026, 7, 1, 3, tzinfo=timezone.utc))


def test_a_document_is_invisible_before_its_date():
    today = date(2026, 11, 20)
    assert domain.is_visible(None, today) and domain.is_visible(today, today)
    assert not domain.is_visible(date(2026, 11, 21), today)


def test_a_hidden_group_average_is_removed_and_a_shown_one_kept():
    subjects = [{"code": "FRA", "mark": 81, "group_average": 76, "competencies": []}]
    hidden = domain.shown_subjects(subjects, domain.DisplayRules(show_group_averages=False))
    assert hidden == [{"code": "FRA", "mark": 81, "competencies": []}]
    assert domain.shown_subjects(subjects, domain.DisplayRules(show_group_averages=True)) == subjects
    assert "group_average" not in domain.shown_assignment({"points": 3, "group_average": 50}, domain.DisplayRules())


def test_a_school_that_said_nothing_hides_group_averages():
    assert domain.DisplayRules().show_group_averages is False
