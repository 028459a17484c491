"""Personal fields, declared once in the contracts: whose data each is, and the forgotten marker
that every consumer accepts in their place (a replayed or relayed event of a forgotten person)."""
import json

import jsonschema
import pytest

import contracts
from contracts import EVENTS, parse
from contracts.envelope import subject_of
from contracts.export import HERE
from contracts.fields import FORGOTTEN, PERSON_IDS
from contracts.registry import personal_fields

PERSONAL = sorted((type, spec.latest_version) for type, spec in EVENTS.items()
                  if personal_fields(type, spec.latest_version))


def test_the_persons_data_the_brief_names_is_declared_personal():
    declared = {(type, name): whose for type, version in PERSONAL
                for name, whose in personal_fields(type, version).items()}
    assert declared[("ParentVerified", "email")] == "parent"
    assert declared[("ParentEmailChanged", "new_email")] == "parent"
    assert declared[("AbsenceDeclared", "explanation")] == "parent"
    assert declared[("AbsenceMotivated", "document_ref")] == "parent"
    assert declared[("RecordCorrectionRequested", "requested_value")] == "parent"
    assert declared[("StudentEnrolled", "birth_date")] == "child"
    assert declared[("StudentEnrolled", "last_name")] == "child"
    assert declared[("GuardianAssigned", "email")] == "child"
    assert ("ParentVerified", "parent_id") not in declared  # ids stay readable


@pytest.mark.parametrize("type,version", PERSONAL)
def test_a_forgotten_field_is_a_valid_value_for_python_and_json_schema(type, version):
    example = {**EVENTS[type].examples[version]}
    for name in personal_fields(type, version):
        example[name] = FORGOTTEN
    envelope = contracts.Envelope.new(type, EVENTS[type].source, subject_of(EVENTS[type], example), example, "corr")
    wire = json.loads(envelope.to_json())
    assert parse(wire).data == envelope.data
    schema = json.loads((HERE / "jsonschema" / f"{type}.v{version}.json").read_text(encoding="utf-8"))
    jsonschema.validate(wire, schema, format_checker=jsonschema.FormatChecker())
    for name, whose in personal_fields(type, version).items():
        assert PERSON_IDS[whose] in example
        assert wire["data"][name] == FORGOTTEN


def test_the_marker_is_the_only_value_a_field_accepts_beyond_its_own():
    example = dict(EVENTS["ParentVerified"].examples[1], email="[oublié]")
    with pytest.raises(contracts.InvalidEvent):
        contracts.validate_data("ParentVerified", 1, example)
