"""The attendance service against the real RabbitMQ and PostgreSQL."""
import base64
import json
import uuid

import pytest
from kombu import Connection, Exchange
from sqlalchemy import create_engine, text

from contracts import Envelope
from contracts.fields import FORGOTTEN
from scripts.school_calendar import around, last_school_day, next_school_day
from services.attendance.service import AttendanceService
from servicekit import deadletters, store
from servicekit.cli import rebuild_projections
from servicekit.errors import Conflict, DomainError, NotFound
from tests.support import answers, count, eventually, link_event, linked_child, listening, publish, school_event

pytestmark = pytest.mark.school_clock

SCHOOL = "css-test.ecole-a"
REASONS = [{"code": "MAL", "label_fr": "Maladie", "label_en": "Illness"},
           {"code": "RDV", "label_fr": "Rendez-vous", "label_en": "Appointment"}]


def calendar_events():
    """The school's calendars of the previous and the current school year of the school's today."""
    return [school_event("SchoolCalendarPublished", year.calendar(SCHOOL, REASONS), SCHOOL) for year in around()]


def absence_event(student_id, absence_id=None, day=None, **changes):
    data = {"absence_id": absence_id or f"abs-{uuid.uuid4().hex[:10]}", "student_id": student_id,
            "school_id": SCHOOL, "date": day or last_school_day(), "kind": "absence",
            "period": "full_day", "requires_justification": True, **changes}
    return school_event("AbsenceRecorded", data, student_id)


@pytest.fixture
def attendance(start_service):
    return start_service(AttendanceService)


@pytest.fixture
def family(amqp_url, attendance, rpc):
    """A parent linked to a fresh child of a school whose calendar is published."""
    return linked_child(amqp_url, rpc.attendance.absences, SCHOOL, first=calendar_events())


def linked(rpc, parent, child) -> bool:
    return answers(rpc.attendance.absences, parent, child)


def absences_of(rpc, parent, child):
    return rpc.attendance.absences(parent, child)


def test_a_school_recorded_absence_reaches_the_linked_parent_and_a_cancelled_one_disappears(
        rpc, amqp_url, family):
    parent, child = family
    kept, cancelled = absence_event(child), absence_event(child, kind="lateness", period="am", minutes_late=10)
    publish([kept, cancelled], amqp_url)
    listed = eventually(lambda: absences_of(rpc, parent, child)["absences"] if len(
        absences_of(rpc, parent, child)["absences"]) == 2 else None)
    assert {a["absence_id"] for a in listed} == {kept.data["absence_id"], cancelled.data["absence_id"]}
    publish([school_event("AbsenceCancelled", {"absence_id": cancelled.data["absence_id"], "student_id": child},
                          child)], amqp_url)
    remaining = eventually(lambda: [a for a in absences_of(rpc, parent, child)["absences"]] if len(
        absences_of(rpc, parent, child)["absences"]) == 1 else None)
    assert remaining[0]["absence_id"] == kept.data["absence_id"]
    answer = absences_of(rpc, parent, child)
    assert [a["absence_id"] for a in answer["to_justify"]] == [kept.data["absence_id"]]
    assert [r["code"] for r in answer["reasons"]] == ["MAL", "RDV"]


def test_a_cancellation_that_arrives_before_its_absence_still_wins(rpc, amqp_url, family):
    parent, child = family
    recorded = absence_event(child)
    cancel = school_event("AbsenceCancelled", {"absence_id": recorded.data["absence_id"], "student_id": child}, child)
    publish([cancel], amqp_url)
    publish([recorded], amqp_url)
    marker = absence_event(child)
    publish([marker], amqp_url)
    listed = eventually(lambda: absences_of(rpc, parent, child)["absences"])
    assert [a["absence_id"] for a in listed] == [marker.data["absence_id"]]


def test_the_same_event_delivered_twice_has_one_effect(rpc, amqp_url, family, engine_of):
    parent, child = family
    event = absence_event(child)
    publish([event, event], amqp_url)
    publish([event], amqp_url)
    eventually(lambda: absences_of(rpc, parent, child)["absences"])
    db = engine_of("attendance")
    assert (count(db, "events", event_id=event.id), count(db, "absences", student_id=child)) == (1, 1)


def test_a_child_not_linked_is_answered_like_a_child_that_does_not_exist(rpc, amqp_url, family):
    parent, child = family
    stranger = str(uuid.uuid4())
    for who, whose in ((stranger, child), (parent, "css-test.nobody")):
        with pytest.raises(NotFound) as refused:
            rpc.attendance.absences(who, whose)
        assert refused.value.code == "child_not_found"


def test_an_unlinked_parent_stops_seeing_the_child(rpc, amqp_url, family):
    parent, child = family
    publish([absence_event(child)], amqp_url)
    eventually(lambda: absences_of(rpc, parent, child)["absences"])
    publish([link_event("ChildUnlinked", parent, child, reason="access_denied")], amqp_url)
    eventually(lambda: not linked(rpc, parent, child))


@pytest.fixture
def school_listener(amqp_url):
    """What the school system receives from attendance."""
    with listening(amqp_url, "attendance") as received:
        yield received


def test_a_declared_absence_reaches_the_school_system(rpc, family, school_listener):
    parent, child = family
    day = next_school_day()
    answer = rpc.attendance.declare_absence(parent, child, {
        "start_date": day.isoformat(), "kind": "late_arrival", "time": "12:30", "reason_code": "RDV",
        "explanation": "Dentiste"})
    received = eventually(school_listener)
    event = received[0]
    assert event["type"] == "AbsenceDeclared" and event["source"] == "attendance"
    assert event["data"]["declaration_id"] == answer["declaration_id"]
    assert event["data"]["time"] == "12:30" and event["data"]["parent_id"] == parent
    declared = absences_of(rpc, parent, child)["declarations"]
    assert [d["declaration_id"] for d in declared] == [answer["declaration_id"]]


@pytest.mark.parametrize("declaration, code, field", [
    ({"start_date": "PAST", "kind": "full_day", "reason_code": "MAL"}, "date_in_past", "start_date"),
    ({"start_date": "not a date", "kind": "full_day", "reason_code": "MAL"}, "invalid_date", "start_date"),
    ({"kind": "full_day", "reason_code": "MAL"}, "required", "start_date"),
    ({"start_date": "NEXT", "kind": "nap", "reason_code": "MAL"}, "invalid_choice", "kind"),
    ({"start_date": "NEXT", "kind": "late_arrival", "time": "06:00", "reason_code": "MAL"},
     "time_outside_school_day", "time"),
    ({"start_date": "NEXT", "kind": "full_day", "reason_code": "VACANCES"}, "invalid_choice", "reason_code"),
    ({"start_date": "NEXT", "kind": "full_day", "reason_code": "MAL", "explanation": "x" * 501},
     "invalid_length", "explanation"),
    ({"start_date": "NEXT", "kind": "full_day", "reason_code": "MAL", "hack": 1}, "unknown_field", "hack"),
])
def test_a_bad_declaration_gets_a_clear_error_and_changes_nothing(rpc, family, declaration, code, field):
    parent, child = family
    days = {"NEXT": next_school_day, "PAST": last_school_day}
    if declaration.get("start_date") in days:
        declaration = {**declaration, "start_date": days[declaration["start_date"]]().isoformat()}
    with pytest.raises(DomainError) as refused:
        rpc.attendance.declare_absence(parent, child, declaration)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert absences_of(rpc, parent, child)["declarations"] == []


def test_a_recorded_absence_is_justified_once(rpc, amqp_url, family, school_listener):
    parent, child = family
    recorded = absence_event(child)
    publish([recorded], amqp_url)
    eventually(lambda: absences_of(rpc, parent, child)["to_justify"])
    absence_id = recorded.data["absence_id"]
    rpc.attendance.justify_absence(parent, child, absence_id, {"reason_code": "MAL", "explanation": "Fièvre"})
    answer = absences_of(rpc, parent, child)
    assert answer["to_justify"] == [] and answer["absences"][0]["justified"] is True
    with pytest.raises(Conflict) as twice:
        rpc.attendance.justify_absence(parent, child, absence_id, {"reason_code": "MAL"})
    assert twice.value.code == "already_justified"
    received = eventually(lambda: school_listener())
    motivated = received[0]
    assert motivated["type"] == "AbsenceMotivated" and motivated["data"]["absence_id"] == absence_id


def test_invalid_events_are_dead_lettered_with_their_reason_and_do_not_block_the_queue(
        rpc, amqp_url, family):
    parent, child = family
    bad = absence_event(child).to_dict()
    bad["data"]["student_id"] = ""
    with Connection(amqp_url) as connection:
        producer = connection.Producer()
        exchange = Exchange("sis.events", "topic", durable=True)
        producer.publish(json.dumps(bad), exchange=exchange, routing_key="AbsenceRecorded",
                         content_type="application/json", message_id=bad["id"], declare=[exchange])
        producer.publish("{not json", exchange=exchange, routing_key="AbsenceRecorded",
                         content_type="application/json", message_id="garbage-1")
    good = absence_event(child)
    publish([good], amqp_url)
    eventually(lambda: absences_of(rpc, parent, child)["absences"])
    letters = eventually(lambda: [letter for letter in deadletters.peek(amqp_url, "attendance")
                                  if letter["event_id"] in (bad["id"], "garbage-1")]
                         if len([letter for letter in deadletters.peek(amqp_url, "attendance")
                                 if letter["event_id"] in (bad["id"], "garbage-1")]) == 2 else None)
    reasons = {letter["event_id"]: letter["reason"] for letter in letters}
    assert "data.student_id" in reasons[bad["id"]]
    assert "JSON" in reasons["garbage-1"]
    assert all(letter["queue"] == "attendance.sis" for letter in letters)


def test_a_closed_account_is_forgotten_and_a_rebuild_after_it_still_works(rpc, amqp_url, family, database_url):
    """Closing an account erases the parent's links, the log of their reads and the documents
    they attached; the school keeps its declarations and justifications without who gave them
    (``justified_by``) nor their words: the explanation reads forgotten, in the read model and in
    the event store, whose key for the parent is gone. A rebuild after that gives the same."""
    parent, child = family
    recorded = absence_event(child)
    publish([recorded], amqp_url)
    eventually(lambda: absences_of(rpc, parent, child)["to_justify"])
    words = f"Rendez-vous chez l'orthodontiste {uuid.uuid4().hex}"
    rpc.attendance.declare_absence(parent, child, {"start_date": next_school_day().isoformat(), "kind": "full_day",
                                                   "reason_code": "MAL", "explanation": words})
    rpc.attendance.justify_absence(parent, child, recorded.data["absence_id"], {
        "reason_code": "MAL", "explanation": words, "document": {
            "content_type": "application/pdf", "content_base64": base64.b64encode(b"%PDF-1.4\n% un billet\n").decode()}})
    engine = create_engine(database_url("attendance"))

    def held() -> dict:
        with engine.connect() as conn:
            counts = {table: conn.execute(text(f"SELECT count(*) FROM {table} WHERE parent_id = :p"),
                                          {"p": parent}).scalar()
                      for table in ("links", "access_log", "declarations", "documents")}
            return {**counts,
                    "explanations": conn.execute(text("SELECT array_agg(explanation) FROM declarations"
                                                      " WHERE parent_id = :p"), {"p": parent}).scalar(),
                    "justified_by": conn.execute(text("SELECT justified_by FROM absences WHERE absence_id = :a"),
                                                 {"a": recorded.data["absence_id"]}).scalar(),
                    "stored": [e.data.get("explanation") for chunk in store.read_all(conn) for e in chunk
                               if e.data.get("parent_id") == parent and "explanation" in e.data]}

    before = held()
    assert before["links"] == before["declarations"] == before["documents"] == 1 and before["access_log"] >= 3
    assert (before["explanations"], before["justified_by"], before["stored"]) == ([words], parent, [words, words])
    publish([Envelope.new("ParentAccountClosed", "identity", parent, {"parent_id": parent}, "close-test")], amqp_url)
    eventually(lambda: not linked(rpc, parent, child))
    after = held()
    forgotten = {"links": 0, "access_log": 0, "declarations": 1, "documents": 0, "explanations": [FORGOTTEN],
                 "justified_by": None, "stored": [FORGOTTEN, FORGOTTEN]}
    assert after == forgotten
    rebuild_projections("attendance", database_url("attendance"))
    rebuilt = held()
    engine.dispose()
    assert rebuilt == forgotten


def test_a_closed_accounts_dead_letters_go_and_the_others_stay(rpc, amqp_url, family):
    parent, child = family
    other = str(uuid.uuid4())
    bad = {}
    for who in (parent, other):  # a link event the contract refuses (an empty school), naming who
        envelope = link_event("ChildLinked", who, child, SCHOOL).to_dict()
        envelope["data"]["school_id"] = ""
        bad[who] = envelope["id"]
        with Connection(amqp_url) as connection:
            exchange = Exchange("linking.events", "topic", durable=True)
            connection.Producer().publish(json.dumps(envelope), exchange=exchange, routing_key="ChildLinked",
                                          content_type="application/json", message_id=envelope["id"],
                                          declare=[exchange])

    def dead() -> set:
        return {letter["event_id"] for letter in deadletters.peek(amqp_url, "attendance")} & set(bad.values())

    eventually(lambda: dead() == set(bad.values()))
    publish([Envelope.new("ParentAccountClosed", "identity", parent, {"parent_id": parent}, "close-test")], amqp_url)
    eventually(lambda: not linked(rpc, parent, child))
    assert eventually(lambda: dead() == {bad[other]})
