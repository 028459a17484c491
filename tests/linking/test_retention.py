"""A student withdrawn longer than the retention (two whole school years by default) is forgotten
(Law 25): linking's retention job records StudentForgotten once, and every service forgets the
child as it forgets a closed account, its key and its read models, the access log aside."""
import uuid
from datetime import date, timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from contracts import Envelope
from contracts.fields import FORGOTTEN
from services.attendance.service import AttendanceService
from services.linking.domain import WithdrawnStudent, withdrawn_before
from services.linking.service import LinkingService
from servicekit import schooltime, store
from servicekit.cli import rebuild_projections
from servicekit.privacy import retention_metrics, withdrawn_retention
from tests.support import eventually, publish

pytestmark = pytest.mark.school_clock

BOARD = "css-test"
SCHOOL = f"{BOARD}.ecole-a"


@pytest.mark.parametrize("today, before", [
    (date(2029, 7, 1), date(2027, 7, 1)),
    (date(2029, 6, 30), date(2026, 7, 1)),
    (date(2030, 1, 15), date(2027, 7, 1)),
])
def test_a_withdrawal_is_old_enough_once_two_whole_school_years_have_passed(today, before):
    assert withdrawn_before(today, 2) == before


def test_a_withdrawn_student_is_forgotten_once():
    student = WithdrawnStudent("css-test.1234567")
    assert student.forget(date(2027, 1, 15), date(2029, 6, 30), 2, "c") is None
    event = student.forget(date(2027, 1, 15), date(2029, 7, 1), 2, "c")
    assert (event.type, event.data, event.subject) == ("StudentForgotten", {"student_id": "css-test.1234567"},
                                                       "css-test.1234567")
    assert student.forget(date(2027, 1, 15), date(2031, 7, 1), 2, "c") is None


@pytest.mark.parametrize("setting, years", [("", 2), ("3", 3)])
def test_the_retention_in_school_years(monkeypatch, setting, years):
    monkeypatch.setenv("PORTAL_WITHDRAWN_RETENTION_SCHOOL_YEARS", setting)
    assert withdrawn_retention() == years


@pytest.mark.parametrize("setting", ["two", "0", "-1", "1.5"])
def test_a_bad_retention_is_refused_naming_the_setting(monkeypatch, setting):
    monkeypatch.setenv("PORTAL_WITHDRAWN_RETENTION_SCHOOL_YEARS", setting)
    with pytest.raises(ValueError, match="PORTAL_WITHDRAWN_RETENTION_SCHOOL_YEARS"):
        withdrawn_retention()


def sis(event_type, subject, **data):
    return Envelope.new(event_type, "sis", subject, data, "retention-test")


def test_a_student_withdrawn_two_school_years_ago_is_forgotten_everywhere_once(start_service, amqp_url, database_url,
                                                                                monkeypatch):
    monkeypatch.setenv("PORTAL_ACCESS_LOG_RETENTION_DAYS", "100000")  # this test ages the student alone
    # Databases of the test's own: the retention forgets every student withdrawn as long ago.
    urls = {s: database_url(s, "retention") for s in ("linking", "attendance")}
    linking = start_service(LinkingService, DATABASE_URL=urls["linking"])
    start_service(AttendanceService, DATABASE_URL=urls["attendance"])
    parent, child, kept = str(uuid.uuid4()), f"{BOARD}.{uuid.uuid4().hex[:7]}", f"{BOARD}.{uuid.uuid4().hex[:7]}"
    today = schooltime.school_today()
    first_name = f"Léa-{uuid.uuid4().hex[:6]}"
    record = {"org_id": BOARD, "school_id": SCHOOL, "student_number": "1234567", "permanent_code": "GAGL05581812",
              "last_name": "Gagnon", "first_name": first_name, "birth_date": date(2018, 8, 5), "grade": "P3",
              "group": "301"}
    publish([sis("StudentEnrolled", s, student_id=s, **record) for s in (child, kept)]
            + [sis("AbsenceRecorded", child, absence_id=f"abs-{uuid.uuid4().hex[:10]}", student_id=child,
                   school_id=SCHOOL, date=today, kind="absence", period="full_day", requires_justification=True),
               sis("StudentWithdrawn", child, student_id=child, date=today)], amqp_url)
    publish([Envelope.new("ChildLinked", "linking", parent, {
        "parent_id": parent, "student_id": child, "school_id": SCHOOL, "org_id": BOARD, "method": "email"},
        "retention-test")], amqp_url)
    engines = {s: create_engine(url) for s, url in urls.items()}

    def held() -> dict:
        """The rows keyed by the child in each service, and its key."""
        found = {}
        with engines["linking"].connect() as conn:
            found["linking"] = conn.execute(text("SELECT count(*) FROM students WHERE student_id = :s"),
                                            {"s": child}).scalar()
            found["linking_key"] = conn.execute(text(
                "SELECT key IS NOT NULL FROM person_keys WHERE kind = 'child' AND person_id = :s"), {"s": child}).scalar()
        with engines["attendance"].connect() as conn:
            found["attendance"] = conn.execute(text(
                "SELECT (SELECT count(*) FROM absences WHERE student_id = :s)"
                " + (SELECT count(*) FROM links WHERE student_id = :s)"), {"s": child}).scalar()
        return found

    eventually(lambda: held() == {"linking": 1, "linking_key": True, "attendance": 2})
    with engines["attendance"].begin() as conn:  # a read of the child's file, for the school to keep
        conn.execute(text("INSERT INTO access_log (parent_id, student_id, what) VALUES (:p, :s, 'absences')"),
                     {"p": parent, "s": child})
    removed = retention_metrics("linking").removed.labels("withdrawn_students")
    counted = removed._value.get()

    def run_linking_retention(day: date) -> dict:
        monkeypatch.setenv("PORTAL_SCHOOL_DAY", day.isoformat())
        with entrypoint_hook(linking, "retention") as run:
            return run()

    assert run_linking_retention(today + timedelta(days=365))["withdrawn_students"] == 0
    assert held() == {"linking": 1, "linking_key": True, "attendance": 2}
    assert run_linking_retention(today + timedelta(days=3 * 366))["withdrawn_students"] == 1
    eventually(lambda: held() == {"linking": 0, "linking_key": False, "attendance": 0})
    assert run_linking_retention(today + timedelta(days=4 * 366))["withdrawn_students"] == 0  # once
    assert removed._value.get() - counted == 1

    with engines["linking"].connect() as conn:
        names = {e.data["first_name"] for chunk in store.read_all(conn) for e in chunk
                 if e.type == "StudentEnrolled" and e.data["student_id"] in (child, kept)}
        kept_rows = conn.execute(text("SELECT count(*) FROM students WHERE student_id = :s"), {"s": kept}).scalar()
    assert names == {FORGOTTEN, first_name} and kept_rows == 1  # the other student is left alone
    with engines["attendance"].connect() as conn:
        reads = conn.execute(text("SELECT count(*) FROM access_log WHERE student_id = :s"), {"s": child}).scalar()
    assert reads == 1  # the access log ages out on its own
    rebuild_projections("linking", urls["linking"])
    rebuild_projections("attendance", urls["attendance"])
    assert held() == {"linking": 0, "linking_key": False, "attendance": 0}
    for engine in engines.values():
        engine.dispose()
