"""Attendance's rules, without servers."""
from datetime import date, time

import pytest

from services.attendance import domain
from servicekit.errors import Conflict, DomainError, NotFound

MONDAY = date(2026, 11, 23)
PARENT = "0b6f3a52-3c1e-4d8a-9f51-2f4c7f9e8a10"
CALENDAR = domain.SchoolCalendar(
    school_id="school-1", first_day=date(2026, 8, 27), last_day=date(2027, 6, 22),
    days_off=frozenset({date(2026, 11, 27)}), day_start=time(8, 0), day_end=time(15, 5),
    reasons=("MAL", "RDV"),
)


def declaration(**changes):
    fields = {"start_date": MONDAY, "end_date": MONDAY, "kind": domain.FULL_DAY, "time": None,
              "reason_code": "MAL", "explanation": None}
    return domain.Declaration(**{**fields, **changes})


def declare(calendar=CALENDAR, today=MONDAY, **changes):
    return domain.StudentAttendance("student-1").declare(PARENT, "school-1", declaration(**changes), calendar,
                                                         today, "corr-1")


def refusal(**kwargs):
    with pytest.raises(DomainError) as refused:
        declare(**kwargs)
    return refused.value.code, refused.value.field


def test_a_full_day_declaration_becomes_an_absence_declared_event():
    event = declare(explanation="Grippe")
    assert event.type == "AbsenceDeclared"
    assert event.subject == "student-1"
    assert event.data["kind"] == "full_day" and event.data["explanation"] == "Grippe"
    assert event.data["start_date"] == event.data["end_date"] == MONDAY
    assert event.correlation_id == "corr-1"


def test_today_is_not_the_past():
    assert declare(today=MONDAY).data["start_date"] == MONDAY


def test_a_date_in_the_past_is_refused():
    assert refusal(start_date=date(2026, 11, 20), end_date=date(2026, 11, 20)) == ("date_in_past", "start_date")


def test_a_range_must_end_after_it_starts():
    assert refusal(start_date=date(2026, 11, 25), end_date=date(2026, 11, 24)) == ("end_before_start", "end_date")


def test_a_range_over_a_day_off_is_accepted_but_must_start_and_end_on_school_days():
    assert declare(start_date=date(2026, 11, 26), end_date=date(2026, 11, 30)).data["end_date"] == date(2026, 11, 30)
    assert refusal(start_date=date(2026, 11, 27), end_date=date(2026, 11, 30)) == ("not_a_school_day", "start_date")
    assert refusal(start_date=date(2026, 11, 26), end_date=date(2026, 11, 28)) == ("not_a_school_day", "end_date")


def test_weekends_holidays_and_days_outside_the_school_year_have_no_school():
    assert refusal(start_date=date(2026, 11, 28), end_date=date(2026, 11, 28)) == ("not_a_school_day", "start_date")
    assert refusal(start_date=date(2026, 11, 27), end_date=date(2026, 11, 27)) == ("not_a_school_day", "start_date")
    assert refusal(start_date=date(2027, 6, 28), end_date=date(2027, 6, 28)) == ("not_a_school_day", "start_date")


def test_late_arrival_and_early_departure_need_a_time_within_the_school_day():
    assert declare(kind=domain.LATE_ARRIVAL, time=time(12, 30)).data["time"] == time(12, 30)
    assert declare(kind=domain.EARLY_DEPARTURE, time=time(12, 30)).data["kind"] == "early_departure"
    assert refusal(kind=domain.LATE_ARRIVAL) == ("required", "time")
    assert refusal(kind=domain.LATE_ARRIVAL, time=time(7, 30))[0] == "time_outside_school_day"
    assert refusal(kind=domain.EARLY_DEPARTURE, time=time(15, 5)) == ("time_outside_school_day", "time")


def test_late_arrival_is_for_one_day():
    assert refusal(kind=domain.LATE_ARRIVAL, time=time(10, 0), end_date=date(2026, 11, 24)) == (
        "single_day_only", "end_date")


def test_the_reason_comes_from_the_schools_list():
    assert refusal(reason_code="VAC") == ("invalid_choice", "reason_code")


def test_no_declaration_without_the_schools_calendar():
    assert refusal(calendar=None) == ("calendar_unavailable", None)


def recorded(**changes):
    fields = {"absence_id": "abs-1", "student_id": "student-1", "cancelled": False, "justified": False}
    return domain.RecordedAbsence(**{**fields, **changes})


def test_justifying_a_recorded_absence_once():
    attendance = domain.StudentAttendance("student-1")
    event = attendance.justify(PARENT, recorded(), "MAL", "fièvre", None, CALENDAR, "corr")
    assert event.type == "AbsenceMotivated" and event.data["absence_id"] == "abs-1"
    with pytest.raises(Conflict) as twice:
        attendance.justify(PARENT, recorded(), "MAL", None, None, CALENDAR, "corr")
    assert twice.value.code == "already_justified"


def test_the_aggregate_remembers_justifications_from_its_stream():
    first = domain.StudentAttendance("student-1")
    event = first.justify(PARENT, recorded(), "MAL", None, None, CALENDAR, "corr")
    rebuilt = domain.StudentAttendance.rebuild("student-1", [event])
    assert rebuilt.version == 1
    with pytest.raises(Conflict):
        rebuilt.justify(PARENT, recorded(), "MAL", None, None, CALENDAR, "corr")


def test_justifying_what_the_school_already_justified_is_refused():
    with pytest.raises(Conflict):
        domain.StudentAttendance("student-1").justify(PARENT, recorded(justified=True), "MAL", None, None, CALENDAR, "c")


@pytest.mark.parametrize("absence", [None, recorded(cancelled=True), recorded(student_id="student-2")])
def test_a_missing_cancelled_or_other_childs_absence_is_not_found(absence):
    with pytest.raises(NotFound):
        domain.StudentAttendance("student-1").justify(PARENT, absence, "MAL", None, None, CALENDAR, "c")


def test_school_today_is_in_quebec_time():
    from datetime import datetime, timezone
    late_evening_in_quebec = datetime(2026, 11, 24, 3, 30, tzinfo=timezone.utc)
    assert domain.school_today(late_evening_in_quebec) == date(2026, 11, 23)


@pytest.mark.parametrize("by_parent, school_reason, justified", [
    (False, None, False), (True, None, True), (False, "MAL", True), (True, "MAL", True)])
def test_an_absence_is_justified_by_a_parent_or_by_the_schools_reason(by_parent, school_reason, justified):
    assert domain.is_justified(by_parent, school_reason) is justified


def test_to_justify_are_the_absences_the_school_wants_a_reason_for_that_no_one_gave():
    listed = [{"absence_id": "a", "requires_justification": True, "justified": False},
              {"absence_id": "b", "requires_justification": True, "justified": True},
              {"absence_id": "c", "requires_justification": False, "justified": False}]
    assert domain.to_justify(listed) == [listed[0]]
