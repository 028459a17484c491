"""The demo school service centre: valid, deterministic, realistic enough to link children, and a
consistent story for each demo family whatever the day. Pure Python (but the last test)."""
import collections
import contextlib
import datetime as dt
import functools
import importlib.util
import io
import os
import pathlib

import pytest

import contracts
from contracts.publish import read_batch
from scripts.school_calendar import school_year
from services.attendance import agenda
from services.attendance.domain import SchoolCalendar
from services.billing import domain as billing
from services.grades import domain as grades
from services.linking.domain import ReenrollmentPeriod
from services.notices.domain import Child, reaches

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "demo_school.py"
spec = importlib.util.spec_from_file_location("demo_school", SCRIPT)
demo_school = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo_school)

SCHOOL_DAY = dt.date(2026, 12, 2)  # a Wednesday
DAYS = {
    "school day": SCHOOL_DAY,
    "Saturday": dt.date(2026, 12, 5),
    "pedagogical day": dt.date(2026, 11, 27),
    "summer": dt.date(2027, 7, 15),  # the current school year is the coming one
    "first day of school": dt.date(2026, 8, 27),
}


class Story:
    """The demo of one day, validated line by line against the contracts."""

    def __init__(self, today):
        self.today = today
        self.demo = demo_school.Demo(2026, today)
        self.lines = self.demo.build()
        self.envelopes, self.problems = read_batch(self.lines, "unused")
        self.by_type = collections.defaultdict(list)
        for envelope in self.envelopes:
            self.by_type[envelope.type].append(envelope)

    def data(self, type, student_ids=None):
        return [e.data for e in self.by_type[type]
                if student_ids is None or e.data["student_id"] in student_ids]

    def calendars(self, school_id):
        """The school's calendars as attendance keeps them (for its agenda)."""
        return [agenda.CalendarYear(c["school_year"], SchoolCalendar(
            c["school_id"], c["first_day"], c["last_day"], frozenset(d["date"] for d in c["days_off"]),
            c["day_start"], c["day_end"], tuple(r["code"] for r in c["absence_reasons"])),
            {d["date"]: d["label"] for d in c["days_off"]})
            for c in self.data("SchoolCalendarPublished") if c["school_id"] == school_id]

    def is_school_day(self, school_id, day):
        return any(c.calendar.is_school_day(day) for c in self.calendars(school_id))

    def families(self):
        """Each demo parent's children, as the script tells the parent to link them."""
        children = collections.defaultdict(list)
        for _, student, _, email in self.demo.linking_help:
            children[email].append(student)
        return children


# The id of the fact each event tells: told again on another day, a fact must read the same.
FACT_IDS = {"StatementIssued": "statement_id", "PaymentRecorded": "payment_id",
            "BulletinPublished": "bulletin_id", "AbsenceRecorded": "absence_id",
            "AssignmentResultPublished": "result_id", "MinistryResultPublished": "result_id",
            "HomeworkPublished": "homework_id", "DetentionRecorded": "detention_id",
            "MessagePublished": "message_id", "TaxReceiptIssued": "receipt_id"}


@functools.cache
def story_of(day):
    return Story(day)


@pytest.fixture(params=list(DAYS), ids=list(DAYS))
def story(request):
    return story_of(DAYS[request.param])


@pytest.fixture
def demo():
    """The school day's events."""
    return story_of(SCHOOL_DAY).envelopes


def of_type(envelopes, type):
    return [e.data for e in envelopes if e.type == type]


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    """The script's file and what it prints, for the school day."""
    out, printed = tmp_path_factory.mktemp("demo") / "demo.jsonl", io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert demo_school.main(["--out", str(out), "--today", SCHOOL_DAY.isoformat()]) == 0
    return out.read_text(encoding="utf-8"), printed.getvalue()


def test_same_seed_and_date_give_the_same_file(script):
    assert script[0] == "".join(line + "\n" for line in story_of(SCHOOL_DAY).lines)


def test_the_day_defaults_to_the_school_clock(monkeypatch):
    monkeypatch.setattr(demo_school, "school_today", lambda: dt.date(2027, 3, 10))
    assert demo_school.Demo(2026).today == dt.date(2027, 3, 10)


def test_two_boards_five_schools_both_levels(demo):
    envelopes = demo
    registered = of_type(envelopes, "SchoolRegistered")
    assert {r["org"]["kind"] for r in registered} == {"public", "private"}
    assert len({r["org"]["id"] for r in registered}) == 2
    assert len(registered) == 5
    assert {r["school"]["level"] for r in registered} == {"primary", "secondary"}
    calendars = of_type(envelopes, "SchoolCalendarPublished")
    assert collections.Counter(c["school_year"] for c in calendars) == {
        "2025-2026": 5, "2026-2027": 5, "2027-2028": 5}


def test_the_days_are_what_they_say():
    this_year = school_year(2026)
    assert this_year.is_school_day(DAYS["school day"]) and this_year.is_school_day(DAYS["first day of school"])
    assert DAYS["first day of school"] == this_year.first_day
    assert DAYS["Saturday"].weekday() == 5
    assert this_year.days_off[DAYS["pedagogical day"]] == demo_school.PEDAGOGICAL_DAY
    assert this_year.last_day < DAYS["summer"] < school_year(2027).first_day


def test_about_two_hundred_students_with_unique_numbers_and_consistent_permanent_codes(demo):
    students = of_type(demo, "StudentEnrolled")
    assert 180 <= len(students) <= 250
    assert len({s["student_id"] for s in students}) == len(students)
    assert len({(s["org_id"], s["student_number"]) for s in students}) == len(students)
    for s in students:
        code, born = s["permanent_code"], s["birth_date"]
        assert code[:3] == (demo_school.ascii_letters(s["last_name"]) + "XXX")[:3]
        assert code[3] == demo_school.ascii_letters(s["first_name"])[0]
        assert int(code[4:6]) == born.day and code[8:10] == f"{born.year % 100:02d}"
        assert int(code[6:8]) in (born.month, born.month + 50)
    assert {len(s["permanent_code"]) for s in students} == {10, 12}


def test_every_student_has_guardians_and_every_guardian_id_is_one_person(demo):
    envelopes = demo
    students = {s["student_id"] for s in of_type(envelopes, "StudentEnrolled")}
    guardians = of_type(envelopes, "GuardianAssigned")
    assert {g["student_id"] for g in guardians} == students
    names = collections.defaultdict(set)
    for g in guardians:
        names[g["guardian_id"]].add((g["name"], g["email"]))
    assert all(len(people) == 1 for people in names.values())
    principals = collections.Counter(g["student_id"] for g in guardians if g["principal"])
    assert set(principals.values()) == {1}
    assert any(not g["access"] for g in guardians)  # a custody case


def test_the_demo_parent_is_guardian_of_two_children_in_two_boards(demo):
    envelopes = demo
    mine = [g for g in of_type(envelopes, "GuardianAssigned") if g["email"] == demo_school.DEMO_EMAIL]
    students = {s["student_id"]: s for s in of_type(envelopes, "StudentEnrolled")}
    assert len(mine) == 2 and all(g["access"] and g["principal"] for g in mine)
    assert len({students[g["student_id"]]["org_id"] for g in mine}) == 2


def test_the_pin_printed_for_the_pin_parent_matches_the_published_hash(demo, script):
    printed = script[1]
    assert demo_school.DEMO_EMAIL in printed
    pin_line = next(line for line in printed.splitlines() if "NIP/PIN" in line)
    pin = pin_line.rsplit("NIP/PIN ", 1)[1].rstrip(")")
    number = pin_line.split("fiche ")[1].split(",")[0]
    student = next(s for s in of_type(demo, "StudentEnrolled") if s["student_number"] == number)
    issued = [p for p in of_type(demo, "GuardianPinIssued")
              if p["student_id"] == student["student_id"]]
    assert issued and issued[0]["pin_hash"] == contracts.pin_hash(
        contracts.pin_key(os.environ["PORTAL_PIN_SECRET"], student["org_id"]), student["student_id"], pin)
    assert pin not in script[0]


def test_the_same_people_whatever_the_day_and_the_same_facts_told_again():
    stories = [story_of(DAYS["school day"]), story_of(DAYS["Saturday"])]
    ids = [{e.data["student_id"] for e in s.by_type["StudentEnrolled"]} for s in stories]
    assert ids[0] == ids[1]
    facts = [{(e.type, e.data[FACT_IDS[e.type]]): e.data for e in s.envelopes if e.type in FACT_IDS}
             for s in stories]
    shared = facts[0].keys() & facts[1].keys()
    assert len(shared) > len(facts[0]) / 2
    assert [f for f in shared if facts[0][f] != facts[1][f]] == []


def test_every_event_validates_and_happened_by_today(story):
    assert story.problems == []
    end_of_today = dt.datetime.combine(story.today + dt.timedelta(days=1), dt.time(5), dt.timezone.utc)
    for envelope in story.envelopes:
        assert grades.school_today(envelope.time) == story.today
        data = envelope.data
        for field in ("date", "issued_on", "paid_on", "assigned_on", "opens_on"):
            if field in data and envelope.type != "DetentionRecorded":
                assert data[field] <= story.today, (envelope.type, field)
        if envelope.type == "MessagePublished":
            assert data["published_at"] < end_of_today


def test_what_the_services_check_they_accept(story):
    for type in ("BulletinPublished", "AssignmentResultPublished", "MinistryResultPublished",
                 "CourseAssigned", "TimetablePublished"):
        for envelope in story.by_type[type]:
            grades.check_school_year(envelope.data["school_year"], envelope.time)
    for absence in story.data("AbsenceRecorded"):
        assert absence["date"] < story.today and story.is_school_day(absence["school_id"], absence["date"])
    students = {s["student_id"]: s for s in story.data("StudentEnrolled")}
    for detention in story.data("DetentionRecorded"):
        assert story.is_school_day(students[detention["student_id"]]["school_id"], detention["date"])
    for work in story.data("HomeworkPublished"):
        assert story.is_school_day(work["school_id"], work["due_on"])
    for pin in story.data("GuardianPinIssued"):
        assert pin["expires_on"] > story.today
    for result in story.data("AssignmentResultPublished"):
        assert grades.school_year_of(result["date"]) == result["school_year"]


def test_statements_and_payments_agree_no_payment_counted_twice(story):
    statements = {e.data["statement_id"]: (e, billing.Statement(
        e.data["statement_id"], e.data["account_id"], e.data["student_id"], e.data["kind"],
        e.data["period"], e.data["issued_on"], e.time, e.data["balance_cents"], e.data["visible_from"]))
        for e in story.by_type["StatementIssued"]}
    payments = [billing.Payment(**p) for p in story.data("PaymentRecorded")]
    assert statements and payments
    for payment in payments:
        billing.check_payment(payment, statements[payment.statement_id][1])
        assert payment.paid_on >= statements[payment.statement_id][1].issued_on
    current = billing.current([s for _, s in statements.values()], story.today)
    assert {s.series for s in current} == {s.series for _, s in statements.values()}
    for statement, superseded in current.items():
        series = {statement.statement_id, *(s.statement_id for s in superseded)}
        own = [p for p in payments if p.statement_id in series]
        total = statements[statement.statement_id][0].data["total_cents"]
        assert billing.balance_cents(statement, own) == total - sum(p.amount_cents for p in own) >= 0


@pytest.mark.parametrize("email", [demo_school.DEMO_EMAIL, demo_school.PIN_DEMO_EMAIL])
def test_each_demo_family_has_the_whole_story(story, email):
    today, children = story.today, story.families()[email]
    secondary = [c for c in children if c["grade"].startswith("S")]
    ids = {child["student_id"] for child in children}
    schools = {child["school_id"] for child in children}
    settings = {s["school_id"]: s for s in story.data("SchoolSettingsChanged")}

    # unread messages, one of them about the child
    messages = [m for m in story.data("MessagePublished")
                if any(reaches(m["audience"], Child(c["student_id"], c["org_id"], c["school_id"], c["group"]))
                       for c in children)]
    assert any(m["audience"]["scope"] == "student" for m in messages)
    assert len(messages) >= 3
    # an absence to justify
    assert any(a["requires_justification"] and a["reason_code"] is None
               for a in story.data("AbsenceRecorded", ids))
    # homework due on the next school day, this week but over a break (in the summer, what was due
    # at the end of the year)
    next_day = story.demo.next_day
    due = {h["due_on"] for h in story.data("HomeworkPublished", ids)}
    assert next_day in due if next_day else max(due) < today
    # bulletins shown with group averages: two terms of a year, the first communication, a past year
    visible = [b for b in story.data("BulletinPublished", ids) if grades.is_visible(b["visible_from"], today)]
    assert all(settings[b["school_id"]]["show_group_averages"] for b in visible)
    years = collections.defaultdict(set)
    for b in visible:
        years[b["school_year"]].add(b["term"] or 0)
        if b["kind"] == "term":
            assert all(s["group_average"] is not None and s["mark"] is not None for s in b["subjects"])
    assert any({0, 1, 2} <= terms for terms in years.values())
    assert min(years) < grades.school_year_of(today)
    assert any(b["kind"] == "first_communication" for b in visible)
    # assignment results the school shows
    assert any(settings[r["school_id"]]["show_assignment_results"]
               for r in story.data("AssignmentResultPublished", ids))
    # a daycare statement and the RL-24; the secondary student's sports programme
    kinds = {s["kind"] for s in story.data("StatementIssued", ids)}
    assert kinds == ({"school", "daycare", "sports"} if secondary else {"school", "daycare"})
    daycare = [s for s in story.data("StatementIssued", ids) if s["kind"] == "daycare"]
    assert daycare and any(r["form"] == "RL-24" and r["student_id"] in {s["student_id"] for s in daycare}
                           for r in story.data("TaxReceiptIssued", ids))
    # the re-enrolment open today for the principal guardian's child
    principal = {g["student_id"] for g in story.data("GuardianAssigned", ids) if g["principal"]}
    orgs = {c["org_id"] for c in children if c["student_id"] in principal}
    assert any(ReenrollmentPeriod(r["org_id"], r["school_year"], r["opens_on"], r["closes_on"]).is_open(today)
               and r["school_year"] >= grades.school_year_of(today)
               for r in story.data("ReenrollmentOpened") if r["org_id"] in orgs)
    # a school bus
    assert story.data("TransportAssigned", ids)
    # a secondary child: the timetable of the week with a detention; ministry results in sec. 4-5
    for child in secondary:
        sid, school_id = child["student_id"], child["school_id"]
        timetables = {t["school_year"]: agenda.Timetable(t["school_year"], t["cycle_length"], tuple(t["entries"]))
                      for t in story.data("TimetablePublished", {sid})}
        week = agenda.days(today, today + dt.timedelta(days=6), story.calendars(school_id), timetables)
        assert all(day["periods"] for day in week if day["school_day"])
        assert week[0]["school_day"] == story.is_school_day(school_id, today)
        detentions = {d["date"] for d in story.data("DetentionRecorded", {sid})}
        assert any(day["school_day"] and dt.date.fromisoformat(day["date"]) in detentions for day in week) \
            if any(day["school_day"] for day in week) else detentions
        if child["grade"] in ("S4", "S5"):
            assert any(grades.is_visible(r["visible_from"], today)
                       for r in story.data("MinistryResultPublished", {sid}))
    assert secondary or email == demo_school.PIN_DEMO_EMAIL  # the PIN family's only child is in primary


def test_the_portal_has_something_to_show_in_every_tile(demo):
    counts = collections.Counter(e.type for e in demo)
    for type in ("AbsenceRecorded", "BulletinPublished", "StatementIssued", "MessagePublished",
                 "ResourcePublished", "CourseAssigned", "TransportAssigned", "TimetablePublished",
                 "HomeworkPublished", "AssignmentResultPublished", "TaxReceiptIssued",
                 "GuardianPinIssued", "ReenrollmentOpened", "MinistryResultPublished",
                 "DetentionRecorded", "PaymentRecorded"):
        assert counts[type] > 0, type
    absences = of_type(demo, "AbsenceRecorded")
    assert all(SCHOOL_DAY - dt.timedelta(weeks=5) <= a["date"] < SCHOOL_DAY for a in absences)


def test_demo_events_load_into_the_bus(demo, amqp_url, sis_queue):
    from contracts.publish import publish
    envelopes = demo
    assert publish(envelopes, amqp_url) == len(envelopes)
    assert len(sis_queue(expected=len(envelopes))) == len(envelopes)
