"""The grades service against the real RabbitMQ and PostgreSQL."""
import json
import uuid
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text

from contracts import Envelope
from services.grades.domain import school_today, school_year_of
from services.grades.service import GradesService
from servicekit.cli import rebuild_projections
from servicekit import deadletters
from servicekit.errors import DomainError, NotFound
from tests.support import answers, count, eventually, link_event, linked_child, publish, school_event

pytestmark = pytest.mark.school_clock

SCHOOL = "css-test.ecole-secondaire"
YEAR = school_year_of(school_today())
LAST_YEAR = f"{int(YEAR[:4]) - 1}-{YEAR[:4]}"


def settings_event(show_group_averages, show_assignment_results=True):
    return school_event("SchoolSettingsChanged", {
        "school_id": SCHOOL, "show_group_averages": show_group_averages,
        "show_assignment_results": show_assignment_results}, SCHOOL)


def bulletin_event(student_id, school_year=YEAR, visible_from=None, **changes):
    data = {"bulletin_id": f"bul-{uuid.uuid4().hex[:10]}", "student_id": student_id, "school_id": SCHOOL,
            "school_year": school_year, "kind": "term", "term": 1, "visible_from": visible_from,
            "subjects": [{"code": "FRA", "name": "Français",
                          "competencies": [{"name": "Lire", "mark": 84}, {"name": "Écrire", "mark": 78}],
                          "mark": 81, "group_average": 76, "comment": "Belle progression."}],
            "document_url": "https://sis.example.org/bulletins/b1.pdf", **changes}
    return school_event("BulletinPublished", data, student_id)


def assignment_event(student_id, school_year=YEAR, subject="MAT", **changes):
    data = {"result_id": f"trv-{uuid.uuid4().hex[:10]}", "student_id": student_id, "school_id": SCHOOL,
            "school_year": school_year, "subject_code": subject, "subject_name": "Mathématique",
            "title": "Situation d'application", "date": school_today() - timedelta(days=2), "points": 17,
            "out_of": 20, "weight": 10, "group_average": 72, **changes}
    return school_event("AssignmentResultPublished", data, student_id)


def ministry_event(student_id, visible_from, **changes):
    data = {"result_id": f"mee-{uuid.uuid4().hex[:10]}", "student_id": student_id, "school_id": SCHOOL,
            "school_year": YEAR, "exam_code": "063414", "subject_name": "Mathématique CST", "grade": "S4",
            "mark": 74, "passed": True, "visible_from": visible_from, **changes}
    return school_event("MinistryResultPublished", data, student_id)


def homework_event(student_id, due_in_days, **changes):
    data = {"homework_id": f"dev-{uuid.uuid4().hex[:10]}", "student_id": student_id, "school_id": SCHOOL,
            "subject_code": "FRA", "subject_name": "Français", "kind": "homework", "title": "Lire le chapitre 3",
            "assigned_on": school_today(), "due_on": school_today() + timedelta(days=due_in_days), **changes}
    return school_event("HomeworkPublished", data, student_id)


@pytest.fixture
def grades(start_service):
    return start_service(GradesService)


def linked(rpc, parent, child) -> bool:
    return answers(rpc.grades.results, parent, child)


@pytest.fixture
def family(amqp_url, grades, rpc):
    """A parent linked to a fresh child; the school hides group averages."""
    return linked_child(amqp_url, rpc.grades.results, SCHOOL, first=[settings_event(False)])


def results_when(rpc, parent, child, check, **kwargs):
    def answer():
        got = rpc.grades.results(parent, child, **kwargs)
        return got if check(got) else None
    return eventually(answer)


def test_a_bulletin_reaches_the_linked_parent_without_the_hidden_group_average(rpc, amqp_url, family, database_url):
    parent, child = family
    bulletin = bulletin_event(child)
    publish([bulletin, assignment_event(child)], amqp_url)
    answer = results_when(rpc, parent, child, lambda r: r["bulletins"] and r["assignments"])
    shown = answer["bulletins"][0]
    # The school system's document address stays in the service: the portal makes its own PDF.
    assert shown["bulletin_id"] == bulletin.data["bulletin_id"] and "sis.example.org" not in json.dumps(answer)
    assert shown["subjects"][0]["mark"] == 81 and shown["subjects"][0]["competencies"][0]["mark"] == 84
    one = rpc.grades.bulletin(parent, child, bulletin.data["bulletin_id"])
    exported = rpc.grades.export(parent)
    # The average is nowhere in what leaves the service, in any answer...
    for leaving in (answer, one, exported):
        assert "group_average" not in json.dumps(leaving)
    assert answer["assignments"][0]["results"][0]["points"] == 17
    # ...though the service keeps it, for when the school chooses to show it.
    engine = create_engine(database_url("grades"))
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT subjects FROM bulletins WHERE bulletin_id = :b"),
                            {"b": bulletin.data["bulletin_id"]}).scalar()
    engine.dispose()
    assert kept[0]["group_average"] == 76


def test_a_school_that_shows_group_averages_shows_them_and_can_stop(rpc, amqp_url, family):
    parent, child = family
    publish([bulletin_event(child), assignment_event(child), settings_event(True)], amqp_url)
    shown = results_when(rpc, parent, child, lambda r: r["bulletins"] and r["assignments"] and
                         "group_average" in r["bulletins"][0]["subjects"][0])
    assert shown["bulletins"][0]["subjects"][0]["group_average"] == 76
    assert shown["assignments"][0]["results"][0]["group_average"] == 72
    publish([settings_event(False, show_assignment_results=False)], amqp_url)
    hidden = results_when(rpc, parent, child, lambda r: "group_average" not in json.dumps(r))
    assert hidden["assignments"] == []


def test_before_its_visible_from_date_the_parent_sees_nothing_of_a_document(rpc, amqp_url, family):
    parent, child = family
    tomorrow = school_today() + timedelta(days=1)
    later_bulletin = bulletin_event(child, visible_from=tomorrow)
    later_exam = ministry_event(child, visible_from=tomorrow)
    shown_exam = ministry_event(child, visible_from=school_today(), exam_code="132506", grade="S5")
    marker = bulletin_event(child, visible_from=school_today())
    publish([later_bulletin, later_exam, shown_exam, marker], amqp_url)
    answer = results_when(rpc, parent, child, lambda r: r["bulletins"] and r["ministry_results"])
    assert [b["bulletin_id"] for b in answer["bulletins"]] == [marker.data["bulletin_id"]]
    assert [m["result_id"] for m in answer["ministry_results"]] == [shown_exam.data["result_id"]]
    with pytest.raises(NotFound) as hidden:
        rpc.grades.bulletin(parent, child, later_bulletin.data["bulletin_id"])
    assert hidden.value.code == "bulletin_not_found"
    assert later_bulletin.data["bulletin_id"] not in json.dumps(rpc.grades.export(parent))


def test_results_are_per_school_year_and_previous_years_stay_available(rpc, amqp_url, family):
    parent, child = family
    old = bulletin_event(child, school_year=LAST_YEAR, kind="final", term=None)
    current = bulletin_event(child)
    publish([old, current], amqp_url)
    this_year = results_when(rpc, parent, child, lambda r: r["bulletins"] and LAST_YEAR in r["school_years"])
    assert this_year["school_year"] == YEAR and this_year["school_years"] == [YEAR, LAST_YEAR]
    assert [b["bulletin_id"] for b in this_year["bulletins"]] == [current.data["bulletin_id"]]
    previous = rpc.grades.results(parent, child, school_year=LAST_YEAR)
    assert [b["bulletin_id"] for b in previous["bulletins"]] == [old.data["bulletin_id"]]
    with pytest.raises(DomainError) as refused:
        rpc.grades.results(parent, child, school_year="2026-2028")
    assert (refused.value.code, refused.value.field) == ("invalid_school_year", "school_year")


def test_homework_is_listed_soonest_due_first(rpc, amqp_url, family):
    parent, child = family
    later, sooner = homework_event(child, 5), homework_event(child, 1, kind="lesson", subject_code="MAT")
    publish([later, sooner], amqp_url)
    listed = eventually(lambda: rpc.grades.homework(parent, child) if len(rpc.grades.homework(parent, child)) == 2
                        else None)
    assert [h["homework_id"] for h in listed] == [sooner.data["homework_id"], later.data["homework_id"]]
    assert listed[0]["due_on"] == (school_today() + timedelta(days=1)).isoformat()


def test_a_child_not_linked_is_answered_like_a_child_that_does_not_exist(rpc, amqp_url, family):
    parent, child = family
    publish([bulletin_event(child)], amqp_url)
    results_when(rpc, parent, child, lambda r: r["bulletins"])
    for who, whose in ((str(uuid.uuid4()), child), (parent, "css-test.nobody")):
        for call in (lambda: rpc.grades.results(who, whose), lambda: rpc.grades.homework(who, whose),
                     lambda: rpc.grades.bulletin(who, whose, "bul-x")):
            with pytest.raises(NotFound) as refused:
                call()
            assert refused.value.code == "child_not_found"
    publish([link_event("ChildUnlinked", parent, child, reason="access_denied")], amqp_url)
    eventually(lambda: not linked(rpc, parent, child))


def test_results_about_a_student_nobody_is_linked_to_yet_are_kept_for_when_a_parent_links(rpc, amqp_url, grades):
    parent, child = str(uuid.uuid4()), f"css-test.{uuid.uuid4().hex[:8]}"
    early = bulletin_event(child)
    publish([early], amqp_url)
    publish([link_event("ChildLinked", parent, child, SCHOOL)], amqp_url)
    answer = results_when(rpc, parent, child, lambda r: r["bulletins"]) if eventually(
        lambda: linked(rpc, parent, child)) else None
    assert answer["bulletins"][0]["bulletin_id"] == early.data["bulletin_id"]


def test_every_read_is_in_the_access_log(rpc, amqp_url, family, database_url):
    parent, child = family
    rpc.grades.homework(parent, child)
    rpc.grades.export(parent)
    with pytest.raises(NotFound):
        rpc.grades.results(str(uuid.uuid4()), child)
    engine = create_engine(database_url("grades"))
    with engine.connect() as conn:
        logged = conn.execute(text("SELECT parent_id, what FROM access_log WHERE student_id = :s ORDER BY id"),
                              {"s": child}).all()
    engine.dispose()
    # The fixture's "results" reads, then homework and export; the refused stranger is not a read.
    assert {row.parent_id for row in logged} == {parent}
    assert [row.what for row in logged][-2:] == ["homework", "export"]


def test_a_closed_account_is_forgotten(rpc, amqp_url, family, database_url):
    parent, child = family
    rpc.grades.homework(parent, child)
    closed = Envelope.new("ParentAccountClosed", "identity", parent, {"parent_id": parent}, correlation_id="close")
    publish([closed], amqp_url)
    engine = create_engine(database_url("grades"))

    def left():
        with engine.connect() as conn:
            return [conn.execute(text(f"SELECT count(*) FROM {table} WHERE parent_id = :p"), {"p": parent}).scalar()
                    for table in ("links", "access_log")]

    eventually(lambda: left() == [0, 0])
    engine.dispose()
    with pytest.raises(NotFound):
        rpc.grades.results(parent, child)


def failed() -> float:
    """This process's count of grades' events dead-lettered by its handler (what /metrics exports)."""
    return REGISTRY.get_sample_value("portal_grades_dead_letters_total",
                                     {"source": "sis", "reason": "unprocessable"}) or 0


def test_a_bulletin_for_a_year_that_has_not_begun_is_dead_lettered_and_the_rest_goes_through(
        rpc, amqp_url, family, engine_of):
    parent, child = family
    next_year = f"{int(YEAR[:4]) + 1}-{int(YEAR[:4]) + 2}"
    future = bulletin_event(child, school_year=next_year)
    good = bulletin_event(child)
    counted = failed()
    publish([future, good], amqp_url)
    answer = results_when(rpc, parent, child, lambda r: r["bulletins"])
    assert [b["bulletin_id"] for b in answer["bulletins"]] == [good.data["bulletin_id"]]

    def letter():
        return next((l for l in deadletters.peek(amqp_url, "grades") if l["event_id"] == future.id), None)

    dead = eventually(letter)
    assert "unknown_school_year" in dead["reason"] and dead["queue"] == "grades.sis"
    assert failed() - counted == 1
    db = engine_of("grades")
    assert (count(db, "events", event_id=future.id), count(db, "bulletins", school_year=next_year)) == (0, 0)


def test_a_rebuild_from_the_store_answers_the_same(rpc, amqp_url, family, database_url):
    parent, child = family
    publish([bulletin_event(child), assignment_event(child), ministry_event(child, school_today()),
             homework_event(child, 3), settings_event(True)], amqp_url)
    before = results_when(rpc, parent, child, lambda r: r["bulletins"] and r["assignments"] and r["ministry_results"]
                          and "group_average" in r["bulletins"][0]["subjects"][0])
    homework_before = eventually(lambda: rpc.grades.homework(parent, child))
    rebuild_projections("grades", database_url("grades"))
    assert rpc.grades.results(parent, child) == before
    assert rpc.grades.homework(parent, child) == homework_before
