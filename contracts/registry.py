"""The registry of event types: who produces each one, who consumes it, and its schemas."""
import functools
from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, validates_schema

from . import rules
from .fields import PERSON_IDS

SOURCES = ("sis", "identity", "linking", "attendance")
SERVICES = ("identity", "linking", "attendance", "grades", "billing", "notices")


@dataclass(frozen=True)
class EventSpec:
    type: str
    source: str
    latest_version: int
    description: str
    subject_field: str  # dotted path in `data` whose value is the envelope's subject
    consumers: tuple = ()
    examples: dict = field(default_factory=dict)  # version -> example data (wire form)


class EventSchema(Schema):
    """Base of every event's `data` schema: unknown fields are refused, never silently dropped."""

    class Meta:
        unknown = RAISE
        ordered = True

    # {optional field: (other field, values)}: the field is given (not null) exactly when the
    # other field's value is one of `values`. Checked here and exported to the JSON Schemas.
    present_when = {}

    @validates_schema
    def _present_when(self, data, **kwargs):
        for name, (other, values) in self.present_when.items():
            holds = data.get(other) in values
            condition = f"{other} in ({', '.join(values)})"
            rules.required_when(data, name, condition, holds)
            rules.absent_unless(data, name, condition, holds)


class Part(EventSchema):
    """A nested object inside an event's data (same strictness)."""


SCHEMAS = {}
EVENTS = {}


def event(source, subject, consumers, example, type=None, version=1):
    """Register a schema class as version `version` of event `type` (default: the class name).

    The docstring is the event's published description; `example` is its published example.
    """
    assert source in SOURCES and set(consumers) <= set(SERVICES) | {"sis"}

    def register(schema):
        name = type or schema.__name__
        key = (name, version)
        assert key not in SCHEMAS, f"{key} registered twice"
        for field_name, whose in _personal(schema).items():
            assert PERSON_IDS[whose] in schema._declared_fields, f"{name}.{field_name}: no {PERSON_IDS[whose]}"
        SCHEMAS[key] = schema
        previous = EVENTS.get(name)
        examples = dict(previous.examples) if previous else {}
        examples[version] = example
        EVENTS[name] = EventSpec(
            type=name,
            source=source,
            latest_version=max(version, previous.latest_version if previous else 0),
            description=" ".join((schema.__doc__ or "").split()),
            subject_field=subject,
            consumers=tuple(consumers),
            examples=examples,
        )
        return schema

    return register


def _personal(schema_class) -> dict:
    return {name: field.metadata["personal"] for name, field in schema_class._declared_fields.items()
            if "personal" in field.metadata}


@functools.cache
def personal_fields(type, version) -> dict:
    """{field of the event's data: whose} for its personal fields (``fields.Personal``), which
    are top-level fields of the data, next to the id of the person they belong to."""
    return _personal(SCHEMAS[(type, version)])


def consumed_by(service, source):
    """The event types from `source` that `service` takes in: the contracts' `consumers` are the
    one list of who consumes what, so the service's queue `<service>.<source>` is bound to exactly
    these and the AsyncAPI document says what really happens."""
    return sorted(type for type, spec in EVENTS.items()
                  if spec.source == source and service in spec.consumers)


def exchange_for(source):
    """The topic exchange a source publishes to (nameko's naming, so event handlers just work)."""
    return f"{source}.events"
