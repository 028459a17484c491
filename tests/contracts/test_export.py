"""The exported contracts: committed files equal a fresh export, examples validate with both the
Python schemas and the JSON Schemas, and the AsyncAPI document is valid AsyncAPI 3.0.0.

`asyncapi-3.0.0.schema.json` is the official JSON Schema of AsyncAPI 3.0.0 from the AsyncAPI
Initiative's `@asyncapi/specs` 6.11.1 (`schemas/3.0.0-without-$id.json`, Apache-2.0), kept here so
the check runs offline.
"""
import copy
import json
import pathlib

import jsonschema
import pytest
import yaml

import contracts
from contracts import parse
from contracts.export import HERE, rendered_files

ASYNCAPI_SCHEMA = json.loads(
    (pathlib.Path(__file__).parent / "asyncapi-3.0.0.schema.json").read_text(encoding="utf-8"))
FILES = rendered_files()


def test_committed_files_equal_a_fresh_export():
    committed = {str(path.relative_to(HERE)): path.read_text(encoding="utf-8")
                 for folder in ("jsonschema", "examples") for path in (HERE / folder).glob("*")}
    committed["asyncapi.yaml"] = (HERE / "asyncapi.yaml").read_text(encoding="utf-8")
    assert committed.keys() == FILES.keys(), "run: python -m contracts.export"
    stale = [name for name, text in FILES.items() if committed[name] != text]
    assert not stale, f"run: python -m contracts.export ({stale[:3]})"


def test_export_is_deterministic():
    assert rendered_files() == FILES


def test_export_writes_and_removes_stale_files(tmp_path, capsys):
    from contracts.export import main
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "Gone.json").write_text("{}")
    main(tmp_path)
    assert not (tmp_path / "examples" / "Gone.json").exists()
    assert {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()} == set(FILES)
    main(tmp_path)
    assert capsys.readouterr().out.endswith(f"{len(FILES)} files in {tmp_path}, 0 changed\n")


def json_schema_validator(type, version):
    schema = json.loads(FILES[f"jsonschema/{type}.v{version}.json"])
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("type", sorted(contracts.EVENTS))
def test_every_example_validates_with_parse_and_its_json_schema(type):
    body = json.loads(FILES[f"examples/{type}.json"])
    assert parse(body).to_dict() == body
    json_schema_validator(type, contracts.EVENTS[type].latest_version).validate(body)


@pytest.mark.parametrize("type", sorted(contracts.EVENTS))
def test_json_schemas_refuse_what_parse_refuses(type):
    """The published schemas are as strict as the Python ones on the common mistakes."""
    validator = json_schema_validator(type, 1)
    example = json.loads(FILES[f"examples/{type}.json"])
    first_required = validator.schema["properties"]["data"]["required"][0]
    mistakes = [
        lambda body: body["data"].update(surprise=1),
        lambda body: body["data"].pop(first_required),
        lambda body: body.update(version=2),
        lambda body: body.update(source="elsewhere"),
        lambda body: body.update(time="2026-11-18T13:00:00"),
        lambda body: body.update(id="42"),
    ]
    for mistake in mistakes:
        body = copy.deepcopy(example)
        mistake(body)
        assert not validator.is_valid(body)
        with pytest.raises(contracts.InvalidEvent):
            parse(body)


@pytest.mark.parametrize("type, change", [
    ("AbsenceDeclared", {"time": None}),
    ("AbsenceDeclared", {"kind": "full_day"}),  # a time without a partial day
    ("AbsenceRecorded", {"period": "am"}),
    ("BulletinPublished", {"term": None}),
    ("PaymentRecorded", {"amount_cents": 40.5}),
    ("GuardianAssigned", {"access": "yes"}),
    ("StudentEnrolled", {"permanent_code": "GAGL05131812"}),
    ("TransportAssigned", {"morning_pickup": "7:32"}),
    ("MessagePublished", {"audience": {"scope": "group", "org_id": "css-trois-lacs",
                                       "school_id": "css-trois-lacs.ecole-du-ruisseau",
                                       "group": None, "student_id": None}}),
    ("ResourcePublished", {"audience": {"scope": "student", "org_id": "css-trois-lacs",
                                        "school_id": "css-trois-lacs.ecole-du-ruisseau",
                                        "group": None, "student_id": "css-trois-lacs.1234567"}}),
])
def test_json_schemas_carry_the_conditional_and_format_rules(type, change):
    body = json.loads(FILES[f"examples/{type}.json"])
    body["data"].update(change)
    assert not json_schema_validator(type, 1).is_valid(body)
    with pytest.raises(contracts.InvalidEvent):
        parse(body)


def asyncapi():
    return yaml.safe_load(FILES["asyncapi.yaml"])


def test_asyncapi_document_is_valid_asyncapi_3():
    validator = jsonschema.Draft7Validator(ASYNCAPI_SCHEMA)
    errors = sorted(validator.iter_errors(asyncapi()), key=lambda error: error.json_path)
    assert not errors, [(error.json_path, error.message[:200]) for error in errors[:5]]


def test_the_asyncapi_check_catches_a_broken_document():
    validator = jsonschema.Draft7Validator(ASYNCAPI_SCHEMA)
    broken = asyncapi()
    next(iter(broken["operations"].values()))["action"] = "publish"  # AsyncAPI 2 wording
    assert not validator.is_valid(broken)
    broken = asyncapi()
    del broken["info"]
    assert not validator.is_valid(broken)


def test_asyncapi_has_a_channel_per_exchange_a_message_per_event_and_the_operations():
    document = asyncapi()
    assert document["asyncapi"] == "3.0.0"
    sources = {spec.source for spec in contracts.EVENTS.values()}
    assert sorted(c["address"] for c in document["channels"].values()) == \
        sorted(contracts.exchange_for(source) for source in sources)
    assert set(document["components"]["messages"]) == set(contracts.EVENTS)
    operations = document["operations"]
    for type, spec in contracts.EVENTS.items():
        send = operations[f"{spec.source}_sends_{type}"]
        assert send["action"] == "send"
        channel = send["channel"]["$ref"].rsplit("/", 1)[1]
        assert document["channels"][channel]["address"] == contracts.exchange_for(spec.source)
        assert type in document["channels"][channel]["messages"]
        for consumer in spec.consumers:
            assert operations[f"{consumer}_receives_{type}"]["action"] == "receive"
        payload = document["components"]["messages"][type]["payload"]
        assert payload["schema"]["$ref"] in FILES
    assert len(operations) == sum(1 + len(spec.consumers) for spec in contracts.EVENTS.values())
