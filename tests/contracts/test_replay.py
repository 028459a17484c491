"""Replaying a stored event gives exactly what parsing it gave, and storing a parsed one writes what
its schema would, for every published example."""
import pytest

from contracts import EVENTS, Envelope, parse
from contracts.export import example_envelope
from contracts.envelope import schema_for
from contracts.replay import dump_loaded, load_stored


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_a_stored_event_loads_back_to_what_parse_gave(event_type):
    parsed = parse(example_envelope(event_type))
    stored = parsed.to_dict()["data"]
    assert load_stored(parsed.type, parsed.version, stored) == parsed.data
    assert isinstance(parsed, Envelope)


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_a_loaded_event_dumps_as_its_schema_dumps_it(event_type):
    parsed = parse(example_envelope(event_type))
    schema = schema_for(parsed.type, parsed.version)
    assert dump_loaded(parsed.type, parsed.version, parsed.data) == schema.dump(parsed.data)
