"""The child's agenda (timetable, school days and holidays, detentions), the documents that
support a justification, and attendance's export: rules alone, then against the real RabbitMQ
and PostgreSQL."""
import base64
import hashlib
import json
import uuid
from datetime import date, time, timedelta

import pytest
from kombu import Connection, Exchange
from sqlalchemy import create_engine, text

from services.attendance import agenda
from scripts.school_calendar import around, current_year, last_school_day, next_school_day
from services.attendance.domain import SchoolCalendar, school_today
from services.attendance.service import AttendanceService
from servicekit import deadletters, store
from servicekit.errors import DomainError, NotFound
from tests.support import eventually, linked_child, publish, school_event

pytestmark = pytest.mark.school_clock

SCHOOL = "css-test.ecole-agenda"
PDF = b"%PDF-1.4\n% un billet du medecin\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# -- rules ----------------------------------------------------------------------------------------

def calendar(first: date, last: date, days_off=()) -> SchoolCalendar:
    return SchoolCalendar("s", first, last, frozenset(days_off), time(8), time(15), ("MAL",))


def test_a_cycle_advances_on_school_days_only():
    # Monday 2026-08-31 is the first day; Monday 2026-09-07 is Labour Day.
    year = agenda.CalendarYear("2026-2027", calendar(date(2026, 8, 31), date(2027, 6, 22), [date(2026, 9, 7)]),
                               {date(2026, 9, 7): "Fête du Travail"})
    timetable = agenda.Timetable("2026-2027", 9, tuple(
        {"day": d, "start": "08:15", "end": "09:30", "course_code": f"C{d}"} for d in range(1, 10)))
    days = agenda.days(date(2026, 9, 4), date(2026, 9, 10), [year], {"2026-2027": timetable})
    assert [(d["date"][5:], d["school_day"], d["timetable_day"]) for d in days] == [
        ("09-04", True, 5), ("09-05", False, None), ("09-06", False, None), ("09-07", False, None),
        ("09-08", True, 6), ("09-09", True, 7), ("09-10", True, 8)]
    assert days[3]["day_off"] == "Fête du Travail" and days[3]["periods"] == []
    assert [p["course_code"] for p in days[4]["periods"]] == ["C6"]


def test_a_weekly_timetable_follows_the_weekday_and_summer_is_not_school():
    year = agenda.CalendarYear("2026-2027", calendar(date(2026, 8, 31), date(2027, 6, 22)), {})
    timetable = agenda.Timetable("2026-2027", None, (
        {"day": 3, "start": "10:00", "end": "11:00", "course_code": "MAT"},
        {"day": 3, "start": "08:00", "end": "09:00", "course_code": "FRA"}))
    wednesday = agenda.days(date(2026, 9, 2), date(2026, 9, 2), [year], {"2026-2027": timetable})[0]
    assert wednesday["timetable_day"] == 3 and [p["course_code"] for p in wednesday["periods"]] == ["FRA", "MAT"]
    july = agenda.days(date(2027, 7, 5), date(2027, 7, 5), [year], {"2026-2027": timetable})[0]
    assert (july["school_day"], july["periods"]) == (False, [])


def test_an_agenda_range_is_ordered_and_bounded():
    agenda.check_range(date(2026, 9, 1), date(2026, 9, 1))
    with pytest.raises(DomainError) as backwards:
        agenda.check_range(date(2026, 9, 2), date(2026, 9, 1))
    assert (backwards.value.code, backwards.value.field) == ("end_before_start", "end")
    with pytest.raises(DomainError) as too_long:
        agenda.check_range(date(2026, 9, 1), date(2026, 9, 1) + timedelta(days=agenda.MAX_AGENDA_DAYS))
    assert too_long.value.code == "range_too_long"


@pytest.mark.parametrize("content_type, content, code", [
    ("text/plain", b"hello", "document_type_not_allowed"),
    ("application/pdf", b"", "document_empty"),
    ("image/png", PDF, "document_type_mismatch"),
    ("application/pdf", b"%PDF-" + b"0" * agenda.MAX_DOCUMENT_BYTES, "document_too_large"),
])
def test_a_document_is_checked_by_type_real_type_and_size(content_type, content, code):
    with pytest.raises(DomainError) as refused:
        agenda.check_document(content_type, content)
    assert refused.value.code == code
    agenda.check_document("image/png", PNG)


# -- the service ------------------------------------------------------------------------------------

TODAY = school_today()
CALENDAR = current_year()
YEAR = CALENDAR.name
# The school week shown: from the next school day, with a pedagogical day the school adds on its
# third school day (whatever today is: a school day, a weekend, the summer break).
WEEK = next_school_day()
_days = [day for day in CALENDAR.school_days() if day >= WEEK]
DAY_OFF, DETENTION_DAY = _days[2], _days[1]


def previous_calendar_event():
    previous = around()[0]
    return school_event("SchoolCalendarPublished", previous.calendar(
        SCHOOL, [{"code": "MAL", "label_fr": "Maladie", "label_en": "Illness"}]), SCHOOL)


def calendar_event():
    published = CALENDAR.calendar(SCHOOL, [{"code": "MAL", "label_fr": "Maladie", "label_en": "Illness"}])
    published["days_off"] = sorted(published["days_off"] + [{"date": DAY_OFF, "label": "Journée pédagogique"}],
                                   key=lambda d: d["date"])
    return school_event("SchoolCalendarPublished", published, SCHOOL)


def timetable_event(student_id):
    return school_event("TimetablePublished", {
        "student_id": student_id, "school_year": YEAR, "cycle_length": 9,
        "entries": [{"day": d, "start": "08:15", "end": "09:30", "course_code": f"C{d}", "course_name": "Cours",
                     "room": "B-214"} for d in range(1, 10)]}, student_id)


def detention_event(student_id, day, **changes):
    return school_event("DetentionRecorded", {
        "detention_id": f"ret-{uuid.uuid4().hex[:8]}", "student_id": student_id, "date": day, "start": "15:10",
        "end": "16:10", "reason": "Travaux non remis", "location": "Local C-110", **changes}, student_id)


@pytest.fixture
def attendance(start_service):
    return start_service(AttendanceService)


@pytest.fixture
def family(amqp_url, attendance, rpc):
    """A parent linked to a fresh secondary student of a school whose calendar is published."""
    return linked_child(amqp_url, rpc.attendance.agenda, SCHOOL, first=[previous_calendar_event(), calendar_event()])


def test_the_agenda_shows_the_week_with_its_holiday_timetable_and_detentions(rpc, amqp_url, family):
    parent, child = family
    detention = detention_event(child, DETENTION_DAY)
    later = detention_event(child, WEEK + timedelta(days=30))
    publish([timetable_event(child), detention, later], amqp_url)
    span = {"start": WEEK.isoformat(), "end": (WEEK + timedelta(days=6)).isoformat()}
    week = eventually(lambda: (lambda a: a if a["detentions"] and any(d["periods"] for d in a["days"]) else None)(
        rpc.attendance.agenda(parent, child, **span)))
    assert (week["start"], week["end"]) == (span["start"], span["end"])
    assert len(week["days"]) == 7
    unasked = rpc.attendance.agenda(parent, child)  # by default, the week from the school's today
    assert (unasked["start"], unasked["end"]) == (TODAY.isoformat(), (TODAY + timedelta(days=6)).isoformat())
    assert week["bell_times"] == [{"school_year": YEAR, "start": "08:00", "end": "15:05"}]
    by_date = {d["date"]: d for d in week["days"]}
    assert by_date[DAY_OFF.isoformat()] == {"date": DAY_OFF.isoformat(), "school_day": False,
                                            "day_off": "Journée pédagogique", "timetable_day": None, "periods": []}
    school_days = [d for d in week["days"] if d["school_day"]]
    for before, after in zip(school_days, school_days[1:]):
        # The cycle goes on from one school day to the next, across the day off.
        assert after["timetable_day"] == before["timetable_day"] % 9 + 1
        assert [p["course_code"] for p in after["periods"]] == [f"C{after['timetable_day']}"]
    assert [d["detention_id"] for d in week["detentions"]] == [detention.data["detention_id"]]
    assert week["detentions"][0]["start"] == "15:10" and week["detentions"][0]["location"] == "Local C-110"
    month = rpc.attendance.agenda(parent, child, start=WEEK.isoformat(),
                                  end=(WEEK + timedelta(days=40)).isoformat())
    assert len(month["detentions"]) == 2


@pytest.mark.parametrize("start, end, code, field", [
    ("demain", None, "invalid_date", "start"),
    ("2026-09-10", "2026-09-01", "end_before_start", "end"),
    ("2026-09-01", "2026-12-31", "range_too_long", "end"),
])
def test_a_bad_agenda_range_gets_a_clear_error(rpc, family, start, end, code, field):
    parent, child = family
    with pytest.raises(DomainError) as refused:
        rpc.attendance.agenda(parent, child, start=start, end=end)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_the_agenda_of_a_child_not_linked_is_answered_like_a_child_that_does_not_exist(rpc, family):
    parent, child = family
    for who, whose in ((str(uuid.uuid4()), child), (parent, "css-test.nobody")):
        with pytest.raises(NotFound) as refused:
            rpc.attendance.agenda(who, whose)
        assert refused.value.code == "child_not_found"


def absence(amqp_url, rpc, parent, child):
    recorded = school_event("AbsenceRecorded", {
        "absence_id": f"abs-{uuid.uuid4().hex[:10]}", "student_id": child, "school_id": SCHOOL,
        "date": last_school_day(), "kind": "absence", "period": "full_day",
        "requires_justification": True}, child)
    publish([recorded], amqp_url)
    eventually(lambda: rpc.attendance.absences(parent, child)["to_justify"])
    return recorded.data["absence_id"]


def test_a_justification_carries_a_document_the_school_system_fetches(rpc, amqp_url, family, database_url):
    parent, child = family
    absence_id = absence(amqp_url, rpc, parent, child)
    rpc.attendance.justify_absence(parent, child, absence_id, {
        "reason_code": "MAL", "document": {"content_type": "application/pdf",
                                           "content_base64": base64.b64encode(PDF).decode()}})
    engine = create_engine(database_url("attendance"))
    # The event's document_ref is personal: read through the store, which opens it.
    with engine.connect() as conn:
        motivated = next(e for e in store.load_stream(conn, child)
                         if e.type == "AbsenceMotivated" and e.data["absence_id"] == absence_id)
    engine.dispose()
    fetched = rpc.attendance.fetch_document(motivated.data["document_ref"])
    assert base64.b64decode(fetched["content_base64"]) == PDF
    assert (fetched["content_type"], fetched["size_bytes"], fetched["absence_id"]) == (
        "application/pdf", len(PDF), absence_id)
    assert fetched["sha256"] == hashlib.sha256(PDF).hexdigest()
    with pytest.raises(NotFound) as missing:
        rpc.attendance.fetch_document("doc-nothing")
    assert missing.value.code == "document_not_found"


@pytest.mark.parametrize("document, code, field", [
    ({"content_type": "text/html", "content_base64": base64.b64encode(b"<p>").decode()},
     "document_type_not_allowed", "document.content_type"),
    ({"content_type": "image/png", "content_base64": base64.b64encode(PDF).decode()},
     "document_type_mismatch", "document.content_base64"),
    ({"content_type": "application/pdf", "content_base64": "pas du base64!"}, "invalid_base64",
     "document.content_base64"),
    ({"content_type": "application/pdf", "content_base64": "A" * (agenda.MAX_DOCUMENT_BYTES * 2)},
     "document_too_large", "document.content_base64"),
    ({"content_type": "application/pdf"}, "required", "document.content_base64"),
])
def test_a_bad_document_gets_a_clear_error_and_the_absence_stays_to_justify(
        rpc, amqp_url, family, database_url, document, code, field):
    parent, child = family
    absence_id = absence(amqp_url, rpc, parent, child)
    with pytest.raises(DomainError) as refused:
        rpc.attendance.justify_absence(parent, child, absence_id, {"reason_code": "MAL", "document": document})
    assert (refused.value.code, refused.value.field) == (code, field)
    assert [a["absence_id"] for a in rpc.attendance.absences(parent, child)["to_justify"]] == [absence_id]
    engine = create_engine(database_url("attendance"))
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM documents WHERE absence_id = :a"), {"a": absence_id}).scalar()
    engine.dispose()
    assert kept == 0


def test_the_export_holds_the_agenda_the_documents_and_the_reads_and_is_itself_logged(
        rpc, amqp_url, family, database_url):
    parent, child = family
    publish([timetable_event(child), detention_event(child, TODAY)], amqp_url)
    eventually(lambda: rpc.attendance.agenda(parent, child)["detentions"])
    absence_id = absence(amqp_url, rpc, parent, child)
    rpc.attendance.justify_absence(parent, child, absence_id, {
        "reason_code": "MAL", "document": {"content_type": "image/png",
                                           "content_base64": base64.b64encode(PNG).decode()}})
    exported = rpc.attendance.export(parent)
    mine = exported["children"][0]
    assert mine["student_id"] == child and [a["absence_id"] for a in mine["absences"]] == [absence_id]
    assert mine["timetables"][0]["cycle_length"] == 9 and len(mine["detentions"]) == 1
    assert base64.b64decode(exported["documents"][0]["content_base64"]) == PNG
    assert {"agenda", "absences", "justify_absence"} <= {r["what"] for r in exported["access_log"]}
    assert json.loads(json.dumps(exported)) == exported
    engine = create_engine(database_url("attendance"))
    with engine.connect() as conn:
        last = conn.execute(text("SELECT what FROM access_log WHERE parent_id = :p ORDER BY id DESC LIMIT 1"),
                            {"p": parent}).scalar()
    engine.dispose()
    assert last == "export"


def test_a_detention_that_ends_before_it_starts_is_dead_lettered(rpc, amqp_url, family):
    parent, child = family
    bad = detention_event(child, TODAY).to_dict()
    bad["data"]["end"] = "15:00"
    with Connection(amqp_url) as connection:
        exchange = Exchange("sis.events", "topic", durable=True)
        connection.Producer().publish(json.dumps(bad), exchange=exchange, routing_key="DetentionRecorded",
                                      content_type="application/json", message_id=bad["id"], declare=[exchange])
    letter = eventually(lambda: next((l for l in deadletters.peek(amqp_url, "attendance")
                                      if l["event_id"] == bad["id"]), None))
    assert "data.end" in letter["reason"]
    assert rpc.attendance.agenda(parent, child)["detentions"] == []
