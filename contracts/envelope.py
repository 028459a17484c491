"""The envelope every event travels in, and validation of a received body."""
import datetime as dt
import functools
import json
import uuid
from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields

from servicekit.schooltime import school_now

from . import fields as f
from .errors import InvalidEvent, from_validation_error
from .registry import EVENTS, SCHEMAS
from .replay import dump_loaded

ENVELOPE_FIELDS = ("id", "type", "version", "source", "subject", "time", "correlation_id",
                   "causation_id", "data")


class EnvelopeSchema(Schema):
    """The envelope without `data`, which is checked by the event's own schema afterwards."""

    class Meta:
        ordered = True

    id = f.Uuid(metadata={"description": "UUID of this event; idempotency key; AMQP message_id"})
    type = f.Pattern(r"^[A-Z][A-Za-z0-9]*$", 64)
    version = f.Count(1, 1000)
    source = f.Pattern(r"^[a-z][a-z0-9-]*$", 32)
    subject = f.Text(64, metadata={"description": "the stream this event belongs to"})
    time = f.Instant()
    correlation_id = f.Text(100, metadata={"description": "request or batch that started it"})
    causation_id = f.Text(100, required=False)
    data = fields.Dict(required=True)


@functools.cache
def schema_for(type, version):
    """One shared instance per schema: building a marshmallow schema costs more than using it."""
    return SCHEMAS[(type, version)]()


ENVELOPE_SCHEMA = EnvelopeSchema()


def subject_of(spec, data):
    value = data
    for part in spec.subject_field.split("."):
        value = value[part]
    return value


def validate_data(type, version, data):
    """Load `data` with the schema of (type, version); returns the deserialised dict."""
    if type not in EVENTS:
        raise InvalidEvent(f"Unknown event type {type!r}.", "type", code="unknown_type",
                           reason_fr=f"type d'événement inconnu ({type!r})")
    if (type, version) not in SCHEMAS:
        known = sorted(v for (t, v) in SCHEMAS if t == type)
        raise InvalidEvent(f"Unknown version {version!r} of {type} (known: {known}).", "version",
                           code="unknown_version",
                           reason_fr=f"version inconnue {version!r} de {type} (connues : {known})")
    if not isinstance(data, dict):
        raise InvalidEvent("Not a valid mapping.", "data")
    try:
        return schema_for(type, version).load(data)
    except ValidationError as error:
        raise from_validation_error(error, "data") from None


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    version: int
    source: str
    subject: str
    time: dt.datetime
    correlation_id: str
    causation_id: str | None
    data: dict

    @classmethod
    def new(cls, type, source, subject, data, correlation_id, causation_id=None, version=None):
        """A new event: fresh id, now, the latest version unless told; validated like `parse`."""
        spec = EVENTS.get(type)
        return parse({
            "id": str(uuid.uuid4()), "type": type,
            "version": version if version is not None else (spec.latest_version if spec else 1),
            "source": source, "subject": subject, "time": school_now(),
            "correlation_id": correlation_id, "causation_id": causation_id, "data": data,
        })

    def to_dict(self):
        """The wire form: JSON-safe, data dumped by its schema (dates as ISO strings...)."""
        wire = ENVELOPE_SCHEMA.dump({name: getattr(self, name) for name in ENVELOPE_FIELDS
                                      if name != "data"})
        wire["data"] = self.wire_data()
        return wire

    def wire_data(self):
        """The data alone in its wire form."""
        return dump_loaded(self.type, self.version, self.data)

    def to_json(self):
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


def parse(body):
    """Validate a received event (bytes, str or dict) and return its Envelope.

    Raises InvalidEvent naming the first offending field (`type`, `data.student_id`...).
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent("Not UTF-8.", None, code="not_json",
                               reason_fr="n'est pas de l'UTF-8") from None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as error:
            raise InvalidEvent(f"Not JSON ({error}).", None, code="not_json",
                               reason_fr=f"n'est pas du JSON ({error})") from None
    if not isinstance(body, dict):
        raise InvalidEvent("Not a JSON object.", None, code="not_json",
                           reason_fr="n'est pas un objet JSON")
    try:
        head = ENVELOPE_SCHEMA.load(body)
    except ValidationError as error:
        raise from_validation_error(error, "") from None
    data = validate_data(head["type"], head["version"], head["data"])
    spec = EVENTS[head["type"]]
    if head["source"] != spec.source:
        raise InvalidEvent(f"Must equal {spec.source!r} for {spec.type}.", "source",
                           code="mismatch",
                           reason_fr=f"doit être {spec.source!r} pour {spec.type}")
    if head["subject"] != subject_of(spec, data):
        raise InvalidEvent(f"Must equal the data field {spec.subject_field}.", "subject")
    return Envelope(**dict(head, data=data))
