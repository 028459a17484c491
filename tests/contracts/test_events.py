"""Every event of the bus has a strict schema; each rule refuses bad data naming the field."""
import pytest

import contracts
from contracts import InvalidEvent, parse
from contracts.envelope import subject_of

# Who emits what (docs/architecture.md).
EMITTERS = {
    "sis": ["SchoolRegistered", "StudentEnrolled", "StudentUpdated", "GuardianAssigned",
            "GuardianRemoved", "StudentWithdrawn", "GuardianPinIssued", "CourseAssigned",
            "TransportAssigned", "ReenrollmentOpened", "CorrectionResolved", "AbsenceRecorded",
            "AbsenceCancelled", "SchoolCalendarPublished", "TimetablePublished",
            "DetentionRecorded", "BulletinPublished", "AssignmentResultPublished",
            "HomeworkPublished", "MinistryResultPublished", "SchoolSettingsChanged",
            "StatementIssued", "PaymentRecorded", "TaxReceiptIssued", "MessagePublished",
            "ResourcePublished"],
    "identity": ["ParentVerified", "ParentEmailChanged", "ParentAccountClosed"],
    "linking": ["ChildLinked", "ChildUnlinked", "StudentForgotten", "ReenrollmentSubmitted",
                "RecordCorrectionRequested"],
    "attendance": ["AbsenceDeclared", "AbsenceMotivated"],
}


def test_every_event_of_the_design_has_a_schema_and_its_source():
    expected = {type: source for source, types in EMITTERS.items() for type in types}
    assert {type: spec.source for type, spec in contracts.EVENTS.items()} == expected
    assert set(contracts.SCHEMAS) == {(type, 1) for type in expected}


def test_consumers_follow_the_design():
    consumers = {type: set(spec.consumers) for type, spec in contracts.EVENTS.items()}
    assert consumers["AbsenceDeclared"] == consumers["ReenrollmentSubmitted"] == {"sis"}
    assert {"attendance", "grades", "billing", "notices"} <= consumers["ChildLinked"]
    assert "linking" in consumers["ParentVerified"] and "linking" in consumers["GuardianAssigned"]
    assert "notices" in consumers["ReenrollmentOpened"] and "notices" in consumers["StatementIssued"]
    assert consumers["ParentAccountClosed"] == {"linking", "attendance", "grades", "billing",
                                                "notices"}


@pytest.mark.parametrize("type", sorted(contracts.EVENTS))
def test_every_event_has_a_valid_example_whose_subject_is_its_stream(type, example):
    event = parse(example(type))
    assert event.subject == subject_of(contracts.EVENTS[type], event.data)
    assert contracts.EVENTS[type].description


@pytest.mark.parametrize("type", sorted(contracts.EVENTS))
def test_every_event_refuses_unknown_data_fields(type, example):
    body = example(type)
    body["data"]["surprise"] = 1
    with pytest.raises(InvalidEvent) as refused:
        parse(body)
    assert (refused.value.field, refused.value.code) == ("data.surprise", "unknown_field")


def refused(example, type, change):
    body = example(type)
    change(body["data"])
    with pytest.raises(InvalidEvent) as error:
        parse(body)
    return error.value.field, error.value.code


def setter(**values):
    return lambda data: data.update(values)


def deleter(name):
    return lambda data: data.pop(name)


@pytest.mark.parametrize("code", ["GAGL05581812", "GAGL055818", "TREM31121099"])
def test_permanent_codes_of_12_or_10_characters_are_accepted(example, code):
    body = example("StudentEnrolled")
    body["data"]["permanent_code"] = code
    assert parse(body).data["permanent_code"] == code


@pytest.mark.parametrize("type, change, field, code", [
    # ids, numbers, codes
    ("StudentEnrolled", setter(student_number="12345678"), "data.student_number", "bad_length"),
    ("StudentEnrolled", setter(student_number="12a"), "data.student_number", "bad_format"),
    ("StudentEnrolled", setter(permanent_code="GAGL0558181"), "data.permanent_code",
     "bad_permanent_code"),
    ("StudentEnrolled", setter(permanent_code="gagl05581812"), "data.permanent_code",
     "bad_permanent_code"),
    ("StudentEnrolled", setter(permanent_code="GAGL05131812"), "data.permanent_code",
     "bad_permanent_code"),  # month 13: neither a boy's (01-12) nor a girl's (51-62)
    ("StudentEnrolled", setter(permanent_code="GAGL32581812"), "data.permanent_code",
     "bad_permanent_code"),
    ("StudentEnrolled", setter(grade="P7"), "data.grade", "bad_format"),
    ("StudentEnrolled", setter(student_id="a b"), "data.student_id", "bad_format"),
    ("StudentEnrolled", setter(student_id="x" * 65), "data.student_id", "bad_length"),
    ("StudentEnrolled", setter(last_name=""), "data.last_name", "bad_length"),
    ("StudentEnrolled", setter(first_name=None), "data.first_name", "null"),
    ("StudentEnrolled", setter(birth_date="2018-02-30"), "data.birth_date", "bad_date"),
    ("StudentEnrolled", setter(birth_date="2018-02-03T00:00:00"), "data.birth_date", "bad_date"),
    ("StudentEnrolled", deleter("org_id"), "data.org_id", "required"),
    ("ChildLinked", setter(parent_id="0F5E2D8A-3C41-4B7E-9D2A-6C1B8E4F7A90"), "data.parent_id",
     "bad_format"),
    ("ChildLinked", setter(method="sms"), "data.method", "not_allowed"),
    ("ParentVerified", setter(email="parent@"), "data.email", "bad_email"),
    ("ParentVerified", setter(locale="es"), "data.locale", "not_allowed"),
    ("ReenrollmentSubmitted", setter(school_year="2027-2029"), "data.school_year",
     "bad_school_year"),
    # booleans and times are strict
    ("GuardianAssigned", setter(access="yes"), "data.access", "wrong_type"),
    ("GuardianAssigned", setter(principal=1), "data.principal", "wrong_type"),
    ("TransportAssigned", setter(morning_pickup="7:32"), "data.morning_pickup", "bad_time"),
    ("TransportAssigned", setter(morning_pickup="24:00"), "data.morning_pickup", "bad_time"),
    ("GuardianPinIssued", setter(pin_hash="483920"), "data.pin_hash", "bad_format"),
    # amounts are integer cents
    ("PaymentRecorded", setter(amount_cents=40.5), "data.amount_cents", "wrong_type"),
    ("PaymentRecorded", setter(amount_cents=4000.0), "data.amount_cents", "wrong_type"),
    ("PaymentRecorded", setter(amount_cents="4000"), "data.amount_cents", "wrong_type"),
    ("PaymentRecorded", setter(amount_cents=True), "data.amount_cents", "wrong_type"),
    ("PaymentRecorded", setter(amount_cents=0), "data.amount_cents", "out_of_range"),
    ("StatementIssued", setter(paid_cents=-1), "data.paid_cents", "out_of_range"),
    ("StatementIssued", setter(total_cents=12551, balance_cents=8551), "data.total_cents",
     "mismatch"),
    ("StatementIssued", setter(balance_cents=0), "data.balance_cents", "mismatch"),
    ("StatementIssued", setter(lines=[]), "data.lines", "bad_length"),
    ("StatementIssued", setter(due_date="2026-09-01"), "data.due_date", "too_early"),
    ("TaxReceiptIssued", setter(document_url="ftp://x.example.org/a.pdf"), "data.document_url",
     "bad_url"),
    # absences
    ("AbsenceRecorded", setter(period_number=None), "data.period_number", "required"),
    ("AbsenceRecorded", setter(period="am"), "data.period_number", "not_allowed_here"),
    ("AbsenceRecorded", setter(kind="absence"), "data.minutes_late", "not_allowed_here"),
    ("AbsenceRecorded", setter(minutes_late=None), "data.minutes_late", "required"),
    ("AbsenceRecorded", setter(end_time="08:00"), "data.end_time", "too_early"),
    ("AbsenceDeclared", setter(time=None), "data.time", "required"),
    ("AbsenceDeclared", setter(kind="full_day"), "data.time", "not_allowed_here"),
    ("AbsenceDeclared", setter(kind="full_day", time=None, end_date="2026-11-20"),
     "data.end_date", "too_early"),
    ("AbsenceDeclared", setter(end_date="2026-11-25"), "data.end_date", "mismatch"),
    ("AbsenceDeclared", setter(explanation="x" * 501), "data.explanation", "bad_length"),
    ("SchoolCalendarPublished", setter(first_day="2027-08-27", last_day="2027-09-30"),
     "data.first_day", "out_of_range"),
    ("SchoolCalendarPublished", setter(day_end="07:00"), "data.day_end", "too_early"),
    ("SchoolCalendarPublished", lambda d: d["days_off"].append(dict(d["days_off"][0])),
     "data.days_off.2", "duplicate"),
    ("SchoolCalendarPublished", lambda d: d["days_off"][1].update(date="2027-07-01"),
     "data.days_off.1.date", "out_of_range"),
    ("SchoolCalendarPublished", setter(absence_reasons=[]), "data.absence_reasons", "bad_length"),
    ("TimetablePublished", lambda d: d["entries"][1].update(day=10), "data.entries.1.day",
     "out_of_range"),
    ("TimetablePublished", lambda d: d["entries"][0].update(end="08:00"), "data.entries.0.end",
     "too_early"),
    ("DetentionRecorded", setter(end="15:10"), "data.end", "too_early"),
    # results
    ("BulletinPublished", setter(term=None), "data.term", "required"),
    ("BulletinPublished", setter(kind="final"), "data.term", "not_allowed_here"),
    ("BulletinPublished", lambda d: d["subjects"][0].update(mark=101), "data.subjects.0.mark",
     "out_of_range"),
    ("BulletinPublished", lambda d: d["subjects"][0]["competencies"][1].update(mark=-1),
     "data.subjects.0.competencies.1.mark", "out_of_range"),
    ("AssignmentResultPublished", setter(points=21), "data.points", "too_high"),
    ("HomeworkPublished", setter(due_on="2026-11-01"), "data.due_on", "too_early"),
    ("MinistryResultPublished", setter(grade="S3"), "data.grade", "not_allowed"),
    ("MinistryResultPublished", deleter("visible_from"), "data.visible_from", "required"),
    # school directory
    ("SchoolRegistered", lambda d: d["school"].update(tiles=["messages", "messages"]),
     "data.school.tiles.1", "duplicate"),
    ("SchoolRegistered", lambda d: d["school"].update(tiles=["weather"]),
     "data.school.tiles.0", "not_allowed"),
    ("SchoolRegistered", lambda d: d["school"]["address"].update(postal_code="J0T1A0"),
     "data.school.address.postal_code", "bad_format"),
    ("SchoolRegistered", lambda d: d["org"].update(kind="charter"), "data.org.kind",
     "not_allowed"),
    ("CourseAssigned", lambda d: d["courses"][1].update(code="FRA132"), "data.courses.1",
     "duplicate"),
    ("CourseAssigned", lambda d: d["courses"][0].update(teacher_email="prof"),
     "data.courses.0.teacher_email", "bad_email"),
    ("ReenrollmentOpened", setter(closes_on="2027-01-01"), "data.closes_on", "too_early"),
    ("CorrectionResolved", setter(status="pending"), "data.status", "not_allowed"),
    # messages need an audience, and exactly the ids their scope needs
    ("MessagePublished", deleter("audience"), "data.audience", "required"),
    ("MessagePublished", lambda d: d["audience"].update(scope="group"), "data.audience.group",
     "required"),
    ("MessagePublished", lambda d: d["audience"].update(scope="org"), "data.audience.school_id",
     "not_allowed_here"),
    ("MessagePublished", lambda d: d["audience"].update(scope="student"),
     "data.audience.student_id", "required"),
    ("MessagePublished", setter(published_at="2026-11-18 13:05"), "data.published_at",
     "bad_timestamp"),
    ("MessagePublished", setter(title="x" * 201), "data.title", "bad_length"),
    # text that would break a mail header or a one-line screen
    ("MessagePublished", setter(title="Sortie\u2028Bcc: tous@example.org"), "data.title", "control_character"),
    ("MessagePublished", setter(title="Sortie\r\nBcc: tous@example.org"), "data.title", "control_character"),
    ("StudentEnrolled", setter(first_name="Léa\x85"), "data.first_name", "control_character"),
    ("MessagePublished", setter(body="Bonjour\x00"), "data.body", "control_character"),
    ("ResourcePublished", lambda d: d["audience"].update(scope="group", group="301"),
     "data.audience.scope", "not_allowed"),
])
def test_rules_refuse_bad_data_naming_the_field(example, type, change, field, code):
    assert refused(example, type, change) == (field, code)


def test_every_known_error_has_french_text(example):
    body = example("AbsenceDeclared")
    body["data"].update(kind="full_day", end_date="2026-11-01", time=None)
    with pytest.raises(InvalidEvent) as error:
        parse(body)
    assert error.value.reason_fr == "ne doit pas précéder start_date"


def test_multi_line_text_keeps_its_line_breaks(example):
    body = example("MessagePublished")
    body["data"]["body"] = "Bonjour,\r\n\tLa sortie a lieu demain.\nMerci."
    assert parse(body).data["body"] == "Bonjour,\r\n\tLa sortie a lieu demain.\nMerci."


def test_optional_fields_may_be_absent_or_null(example):
    body = example("AbsenceMotivated")
    for name in ("explanation", "document_ref"):
        del body["data"][name]
    assert parse(body).data["explanation"] is None


def test_pin_hash_is_the_hmac_sha256_of_student_id_and_pin_under_the_boards_key():
    import hashlib
    import hmac
    key = contracts.pin_key("secret", "css-x")
    assert key == hmac.new(b"secret", b"pin-key:css-x", hashlib.sha256).hexdigest()
    assert key != contracts.pin_key("secret", "css-y")
    assert contracts.pin_hash(key, "css-x.42", "123456") == \
        hmac.new(key.encode(), b"css-x.42:123456", hashlib.sha256).hexdigest()
