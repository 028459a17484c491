"""Replaying a stored event gives exactly what parsing it gave, for every published example."""
import pytest

from contracts import EVENTS, Envelope, parse
from contracts.export import example_envelope
from contracts.replay import load_stored


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_a_stored_event_loads_back_to_what_parse_gave(event_type):
    parsed = parse(example_envelope(event_type))
    stored = parsed.to_dict()["data"]
    assert load_stored(parsed.type, parsed.version, stored) == parsed.data
    assert isinstance(parsed, Envelope)
