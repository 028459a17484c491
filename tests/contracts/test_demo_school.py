"""The demo school service centre: valid, deterministic, realistic enough to link children."""
import collections
import datetime as dt
import importlib.util
import pathlib

import pytest

import contracts
from contracts.publish import read_batch

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "demo_school.py"
spec = importlib.util.spec_from_file_location("demo_school", SCRIPT)
demo_school = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo_school)

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    assert demo_school.main(["--out", str(out), "--as-of", AS_OF.isoformat()]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    envelopes, problems = read_batch(lines, "unused")
    assert problems == []
    return out, envelopes


def of_type(envelopes, type):
    return [e.data for e in envelopes if e.type == type]


def test_same_seed_and_date_give_the_same_file(demo, tmp_path):
    again = tmp_path / "again.jsonl"
    demo_school.main(["--out", str(again), "--as-of", AS_OF.isoformat()])
    assert again.read_bytes() == demo[0].read_bytes()


def test_two_boards_five_schools_both_levels(demo):
    _, envelopes = demo
    registered = of_type(envelopes, "SchoolRegistered")
    assert {r["org"]["kind"] for r in registered} == {"public", "private"}
    assert len({r["org"]["id"] for r in registered}) == 2
    assert len(registered) == 5
    assert {r["school"]["level"] for r in registered} == {"primary", "secondary"}
    assert len(of_type(envelopes, "SchoolCalendarPublished")) == 5


def test_about_two_hundred_students_with_unique_numbers_and_consistent_permanent_codes(demo):
    students = of_type(demo[1], "StudentEnrolled")
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
    _, envelopes = demo
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
    _, envelopes = demo
    mine = [g for g in of_type(envelopes, "GuardianAssigned") if g["email"] == demo_school.DEMO_EMAIL]
    students = {s["student_id"]: s for s in of_type(envelopes, "StudentEnrolled")}
    assert len(mine) == 2 and all(g["access"] and g["principal"] for g in mine)
    assert len({students[g["student_id"]]["org_id"] for g in mine}) == 2


def test_the_pin_printed_for_the_pin_parent_matches_the_published_hash(demo, capsys, tmp_path):
    demo_school.main(["--out", str(tmp_path / "x.jsonl"), "--as-of", AS_OF.isoformat()])
    printed = capsys.readouterr().out
    assert demo_school.DEMO_EMAIL in printed
    pin_line = next(line for line in printed.splitlines() if "NIP/PIN" in line)
    pin = pin_line.rsplit("NIP/PIN ", 1)[1].rstrip(")")
    number = pin_line.split("fiche ")[1].split(",")[0]
    student = next(s for s in of_type(demo[1], "StudentEnrolled") if s["student_number"] == number)
    issued = [p for p in of_type(demo[1], "GuardianPinIssued")
              if p["student_id"] == student["student_id"]]
    assert issued and issued[0]["pin_hash"] == contracts.pin_hash(student["student_id"], pin)
    assert pin not in demo[0].read_text(encoding="utf-8")


def test_the_portal_has_something_to_show_in_every_tile(demo):
    counts = collections.Counter(e.type for e in demo[1])
    for type in ("AbsenceRecorded", "BulletinPublished", "StatementIssued", "MessagePublished",
                 "ResourcePublished", "CourseAssigned", "TransportAssigned", "TimetablePublished",
                 "HomeworkPublished", "AssignmentResultPublished", "TaxReceiptIssued",
                 "GuardianPinIssued", "ReenrollmentOpened", "MinistryResultPublished"):
        assert counts[type] > 0, type
    absences = of_type(demo[1], "AbsenceRecorded")
    assert all(AS_OF - dt.timedelta(weeks=5) <= a["date"] < AS_OF for a in absences)
    days_off = {dt.date.fromisoformat(day) for day, _ in demo_school.HOLIDAYS}
    assert not any(a["date"] in days_off or a["date"].weekday() > 4 for a in absences)


def test_demo_events_load_into_the_bus(demo, amqp_url, sis_queue):
    from contracts.publish import publish
    _, envelopes = demo
    assert publish(envelopes, amqp_url) == len(envelopes)
    assert len(sis_queue(expected=len(envelopes))) == len(envelopes)
