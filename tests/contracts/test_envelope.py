"""The envelope: building, wire form, and refusal of bad envelopes with the field named."""
import datetime as dt
import json
import uuid

import pytest

import contracts
from contracts import Envelope, InvalidEvent, parse

ABSENCE = {
    "absence_id": "abs-1", "student_id": "css-x.42", "school_id": "css-x.ecole",
    "date": dt.date(2026, 11, 16), "kind": "absence", "period": "full_day",
    "requires_justification": True,
}


def test_new_fills_id_time_and_latest_version_and_round_trips():
    event = Envelope.new("AbsenceRecorded", "sis", "css-x.42", ABSENCE, correlation_id="lot-1")
    assert uuid.UUID(event.id).version == 4
    assert event.time.tzinfo is not None and event.time.utcoffset() == dt.timedelta(0)
    assert event.version == contracts.EVENTS["AbsenceRecorded"].latest_version == 1
    assert event.causation_id is None
    assert event.data["date"] == dt.date(2026, 11, 16)
    assert event.data["period_number"] is None  # optional fields are present, as None
    wire = json.loads(event.to_json())
    assert wire["data"]["date"] == "2026-11-16" and wire["time"].endswith("Z")
    assert parse(event.to_json()) == event
    assert parse(event.to_json().encode()) == event
    assert parse(event.to_dict()) == event


def test_envelope_is_frozen():
    event = Envelope.new("AbsenceCancelled", "sis", "s1", {"absence_id": "a", "student_id": "s1"},
                         "lot-1")
    with pytest.raises(AttributeError):
        event.type = "Other"


def test_time_with_an_offset_is_normalised_to_utc(example):
    body = example("AbsenceCancelled")
    body["time"] = "2026-11-18T08:00:00-05:00"
    assert parse(body).time == dt.datetime(2026, 11, 18, 13, tzinfo=dt.timezone.utc)
    assert parse(body).to_dict()["time"] == "2026-11-18T13:00:00Z"


@pytest.mark.parametrize("change, field, code", [
    ({"type": "AbsenceInvented"}, "type", "unknown_type"),
    ({"version": 7}, "version", "unknown_version"),
    ({"version": True}, "version", "wrong_type"),
    ({"version": "1"}, "version", "wrong_type"),
    ({"id": "not-a-uuid"}, "id", "bad_format"),
    ({"time": "2026-11-18T13:00:00"}, "time", "bad_timestamp"),
    ({"time": "yesterday"}, "time", "bad_timestamp"),
    ({"correlation_id": ""}, "correlation_id", "bad_length"),
    ({"source": "linking"}, "source", "mismatch"),
    ({"subject": "someone-else"}, "subject", "mismatch"),
    ({"extra": 1}, "extra", "unknown_field"),
    ({"data": []}, "data", "wrong_type"),
])
def test_bad_envelopes_are_refused_naming_the_field(example, change, field, code):
    body = dict(example("AbsenceRecorded"), **change)
    with pytest.raises(InvalidEvent) as refused:
        parse(body)
    assert (refused.value.field, refused.value.code) == (field, code)


@pytest.mark.parametrize("missing", ["id", "type", "version", "source", "subject", "time",
                                     "correlation_id", "data"])
def test_every_envelope_field_but_causation_is_required(example, missing):
    body = example("AbsenceRecorded")
    del body[missing]
    with pytest.raises(InvalidEvent) as refused:
        parse(body)
    assert (refused.value.field, refused.value.code) == (missing, "required")


def test_causation_id_is_optional_and_kept(example):
    body = example("AbsenceRecorded")
    del body["causation_id"]
    assert parse(body).causation_id is None
    body["causation_id"] = "evt-9"
    assert parse(body).causation_id == "evt-9"


@pytest.mark.parametrize("body", [b"\xff\xfe", "{not json", "[1, 2]", 42])
def test_a_body_that_is_not_a_json_object_is_refused(body):
    with pytest.raises(InvalidEvent) as refused:
        parse(body)
    assert refused.value.field is None and refused.value.code == "not_json"


def test_errors_carry_a_stable_code_and_french_and_english(example):
    body = example("AbsenceRecorded")
    del body["data"]["student_id"]
    with pytest.raises(InvalidEvent) as refused:
        parse(body)
    assert refused.value.to_dict() == {
        "code": "required", "field": "data.student_id",
        "message": {"fr": "champ obligatoire manquant",
                    "en": "Missing data for required field."}}


def test_every_error_found_is_listed(example):
    body = example("AbsenceRecorded")
    body["data"].update(date="2026-13-01", kind="sick")
    with pytest.raises(InvalidEvent) as refused:
        parse(body)
    assert [field for field, _ in refused.value.errors] == ["data.date", "data.kind"]


def test_new_validates_like_parse():
    with pytest.raises(InvalidEvent) as refused:
        Envelope.new("AbsenceRecorded", "sis", "css-x.42", dict(ABSENCE, minutes="5"), "lot-1")
    assert refused.value.field == "data.minutes"


def test_validate_data_deserialises():
    data = contracts.validate_data("TransportAssigned", 1, {
        "student_id": "s1", "route": "42", "stop": "Coin", "morning_pickup": "07:32",
        "afternoon_dropoff": "15:48"})
    assert data["morning_pickup"] == dt.time(7, 32)


def test_amqp_naming_follows_nameko(example):
    event = parse(example("AbsenceRecorded"))
    exchange, routing_key, properties = contracts.message_properties(event, "sis.css-trois-lacs")
    assert properties["user_id"] == "sis.css-trois-lacs"
    assert exchange == contracts.exchange_for("sis") == "sis.events"
    assert routing_key == properties["type"] == "AbsenceRecorded"
    assert properties["message_id"] == event.id
    assert properties["delivery_mode"] == 2
    assert properties["content_type"] == "application/json"
    assert properties["headers"] == {"subject": event.subject}
