"""Replaying a stored event gives exactly what parsing it gave, and storing a parsed one writes what
its schema would, for every published example."""
import json
import uuid
from types import SimpleNamespace

import pytest

from contracts import EVENTS, parse
from contracts.export import example_envelope
from contracts.envelope import schema_for
from contracts.replay import dump_loaded, load_stored
from servicekit import store


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_a_stored_event_loads_back_to_what_parse_gave(event_type):
    wire = example_envelope(event_type)
    parsed = parse(wire)
    # What the store writes before sealing personal fields (tests/servicekit/test_shredding.py),
    # its data read back from JSONB.
    row = store._row(parsed, None, parsed.wire_data())
    stored = json.loads(json.dumps(row["data"]))
    assert stored == wire["data"]
    assert load_stored(parsed.type, parsed.version, stored) == parsed.data
    replayed = store.envelope_of(SimpleNamespace(**{**row, "event_id": uuid.UUID(parsed.id), "data": stored}))
    assert replayed == parsed
    assert _types(replayed.data) == _types(parsed.data)  # a date stays a date, not its text


def _types(value):
    """The shape of a value with the type of every leaf (== alone takes 1 for True)."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_a_loaded_event_dumps_as_its_schema_dumps_it(event_type):
    parsed = parse(example_envelope(event_type))
    schema = schema_for(parsed.type, parsed.version)
    assert dump_loaded(parsed.type, parsed.version, parsed.data) == schema.dump(parsed.data)
