""""Download my data" holds what each service's event store keeps about the parent: every event
naming them, opened, in the contracts' wire form (docs/privacy.md), which their JSON Schemas
describe; after closure, the parent's words read forgotten there too."""
import uuid

from contracts import Envelope, parse
from contracts.fields import FORGOTTEN
from scripts.school_calendar import around, next_school_day
from services.attendance.service import AttendanceService
from tests.support import eventually, publish

SCHOOL = "css-test.ecole-a"
REASONS = [{"code": "MAL", "label_fr": "Maladie", "label_en": "Illness"}]


def link(parent, child):
    return Envelope.new("ChildLinked", "linking", parent, {
        "parent_id": parent, "student_id": child, "school_id": SCHOOL, "org_id": "css-test", "method": "email"},
        "export-test")


def test_the_export_holds_the_events_that_name_the_parent_and_no_one_elses(start_service, rpc, amqp_url):
    start_service(AttendanceService)
    parent, other, child = str(uuid.uuid4()), str(uuid.uuid4()), f"css-test.{uuid.uuid4().hex[:8]}"
    publish([Envelope.new("SchoolCalendarPublished", "sis", SCHOOL, year.calendar(SCHOOL, REASONS), "export-test")
             for year in around()] + [link(parent, child), link(other, child)], amqp_url)
    eventually(lambda: rpc.attendance.export(parent)["links"] and rpc.attendance.export(other)["links"])
    words = f"Chez le dentiste {uuid.uuid4().hex}"
    declared = rpc.attendance.declare_absence(parent, child, {
        "start_date": next_school_day().isoformat(), "kind": "full_day", "reason_code": "MAL", "explanation": words})

    events = rpc.attendance.export(parent)["events"]
    assert [(e["type"], e["source"]) for e in events] == [("ChildLinked", "linking"), ("AbsenceDeclared", "attendance")]
    assert all(parse(e).id == e["id"] for e in events)  # each a valid envelope of the contracts
    assert events[1]["data"]["declaration_id"] == declared["declaration_id"]
    assert events[1]["data"]["explanation"] == words
    assert all(e["data"]["parent_id"] == parent for e in events)

    publish([Envelope.new("ParentAccountClosed", "identity", parent, {"parent_id": parent}, "close-test")], amqp_url)
    eventually(lambda: not rpc.attendance.export(parent)["links"])
    after = rpc.attendance.export(parent)["events"]
    assert [e["type"] for e in after] == ["ChildLinked", "AbsenceDeclared", "ParentAccountClosed"]
    assert after[1]["data"]["explanation"] == FORGOTTEN
