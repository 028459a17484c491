"""Invalid payloads made from the published examples, one systematic mutation at a time: not
JSON, an envelope field missing or wrong, and for every field of the event's data (and of the
first item of its nested lists) missing, null, of the wrong type, out of range, or unknown."""
from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator

from marshmallow import fields, validate

import contracts
from contracts.publish import EXAMPLES

ENVELOPE_REQUIRED = ("id", "type", "version", "source", "subject", "time", "correlation_id", "data")
ENVELOPE_WRONG = {
    "id": "pas-un-uuid", "version": "1", "source": "linking", "subject": "quelqu-un-d-autre",
    "time": "2026-11-18 13:00", "correlation_id": "", "data": "texte", "type": "EvenementInconnu",
}


def example(event_type: str) -> dict:
    """The published example of ``event_type``, wire form, with a fresh id."""
    spec = contracts.EVENTS[event_type]
    body = json.loads((EXAMPLES / f"{event_type}.json").read_text())
    assert body["data"] == spec.examples[spec.latest_version]
    return {**body, "id": str(uuid.uuid4())}


def invalid_bodies(event_type: str) -> Iterator[tuple[str, bytes]]:
    """(what was changed, body) for every mutation of the example of ``event_type``."""
    valid = example(event_type)
    for what, body in _raw(valid):
        yield f"{event_type}: {what}", body
    for what, envelope in _envelopes(valid):
        yield f"{event_type}: {what}", json.dumps(envelope).encode()
    schema = contracts.SCHEMAS[(event_type, valid["version"])]()
    for what, data in _data(schema, valid["data"], "data"):
        yield f"{event_type}: {what}", json.dumps({**valid, "id": str(uuid.uuid4()), "data": data}).encode()


def _raw(valid: dict) -> Iterator[tuple[str, bytes]]:
    text = json.dumps(valid)
    yield "not JSON", b"{pas du json"
    yield "empty body", b""
    yield "not UTF-8", b"\xff\xfe\x00"
    yield "truncated JSON", text[: len(text) // 2].encode()
    yield "a JSON list", b"[1, 2]"
    yield "JSON null", b"null"


def _envelopes(valid: dict) -> Iterator[tuple[str, dict]]:
    def fresh():  # each body its own id, so that an applied one would show in the store
        return {**valid, "id": str(uuid.uuid4())}

    for name in ENVELOPE_REQUIRED:
        yield f"{name} missing", {k: v for k, v in fresh().items() if k != name}
        yield f"{name} null", {**fresh(), name: None}
        yield f"{name} wrong", {**fresh(), name: ENVELOPE_WRONG[name]}
    yield "version unknown", {**fresh(), "version": 999}
    yield "unknown envelope field", {**fresh(), "extra": 1}


def _data(schema, data: dict, path: str) -> Iterator[tuple[str, dict]]:
    yield f"{path}: unknown field", {**data, "champ_inconnu": 1}
    for name, field in schema.fields.items():
        where = f"{path}.{name}"
        if field.required:
            yield f"{where} missing", {k: v for k, v in data.items() if k != name}
            yield f"{where} null", {**data, name: None}
        yield f"{where} wrong type", {**data, name: _wrong_type(field)}
        for what, value in _out_of_range(field, data.get(name)):
            yield f"{where} {what}", {**data, name: value}
        nested = _nested_schema(field)
        if nested is not None and isinstance(field, fields.List) and data.get(name):
            for what, item in _data(nested, data[name][0], f"{where}[0]"):
                yield what, {**data, name: [item] + data[name][1:]}
        elif nested is not None and isinstance(data.get(name), dict):
            for what, inner in _data(nested, data[name], where):
                yield what, {**data, name: inner}


def _nested_schema(field):
    inner = field.inner if isinstance(field, fields.List) else field
    return inner.schema if isinstance(inner, fields.Nested) else None


def _wrong_type(field):
    if isinstance(field, (fields.List, fields.Nested, fields.Dict)):
        return "texte"
    if isinstance(field, fields.Boolean):
        return "true"
    if isinstance(field, fields.Integer):
        return "12"
    return 12345


def _out_of_range(field, value) -> Iterator[tuple[str, object]]:
    if isinstance(field, fields.Date):
        yield "not a calendar date", "2026-02-30"
    if type(field).__name__ == "LocalTime":
        yield "not a time of day", "24:00"
    for validator in field.validators:
        if isinstance(validator, validate.Length):
            if validator.max is not None:
                too_long = (value or [None])[:1] * (validator.max + 1) if isinstance(field, fields.List) \
                    else "x" * (validator.max + 1)
                yield f"longer than {validator.max}", copy.deepcopy(too_long)
            if validator.min:
                yield f"shorter than {validator.min}", [] if isinstance(field, fields.List) else ""
        elif isinstance(validator, validate.Range):
            if validator.max is not None:
                yield f"above {validator.max}", validator.max + 1
            if validator.min is not None:
                yield f"below {validator.min}", validator.min - 1
        elif isinstance(validator, validate.OneOf):
            yield "not one of the choices", "pas-un-choix"
        elif isinstance(validator, validate.Regexp):
            # a value no pattern of the contracts allows: not an id, a code or a date, and, for
            # human text, a line break where a header or a one-line screen would take it
            yield "not matching its pattern", "ne correspond\u2028pas !\x00"
