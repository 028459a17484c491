"""Export the contracts for school systems written in any language.

    python -m contracts.export

writes, next to this file: `jsonschema/<Type>.v<N>.json` (JSON Schema 2020-12 of the whole
envelope of each event version), `examples/<Type>.json` (one valid example of each event's latest
version) and `asyncapi.yaml` (AsyncAPI 3.0.0 for the whole bus). The output is deterministic:
running it twice changes nothing, and a test checks that the committed files equal a fresh export.
"""
import json
import pathlib
import sys
import uuid

import yaml
from marshmallow import fields
from apispec.ext.marshmallow.openapi import OpenAPIConverter

from . import EVENTS, SCHEMAS, parse
from .amqp import EXCHANGE_TYPE, PERSISTENT
from .envelope import EnvelopeSchema, subject_of
from .fields import FORGOTTEN, PERSON_IDS
from .registry import SERVICES, exchange_for, personal_fields

HERE = pathlib.Path(__file__).resolve().parent
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXAMPLE_TIME = "2026-11-18T13:00:00Z"
EXAMPLE_CORRELATION = "lot-2026-11-18-0001"


def _field_json_schema(self, field, **kwargs):
    """Lets a field class or a field's metadata add JSON Schema keywords (pattern, format...)."""
    extra = {**getattr(field, "json_schema", {}), **field.metadata.get("json_schema", {})}
    if field.allow_none and isinstance(extra.get("type"), str):
        extra["type"] = [extra["type"], "null"]
    return extra


def _converter():
    converter = OpenAPIConverter("3.1.0", schema_name_resolver=lambda schema: None, spec=None)
    converter.add_attribute_function(_field_json_schema)
    return converter


def _with_conditions(schema_class, converted, converter):
    """Adds `present_when` as if/then/else, recursing into nested parts."""
    instance = schema_class()
    for name, field in instance.fields.items():
        nested = getattr(field, "inner", field)
        if isinstance(nested, fields.Nested):
            target = converted["properties"][name]
            target = target.get("items", target)
            _with_conditions(type(nested.schema), target, converter)
    rules = []
    for name, (other, values) in schema_class.present_when.items():
        rules.append({
            "if": {"properties": {other: {"enum": list(values)}}, "required": [other]},
            "then": {"properties": {name: {"not": {"type": "null"}}}, "required": [name]},
            "else": {"properties": {name: {"type": "null"}}},
        })
    if rules:
        converted["allOf"] = rules
    return converted


def _with_personal(type, version, converted):
    """A personal field is its own schema or, once its person is forgotten, the marker."""
    for name, whose in personal_fields(type, version).items():
        own = converted["properties"][name]
        converted["properties"][name] = {
            "anyOf": [own, {"const": FORGOTTEN}], "x-personal": whose,
            "description": f"personal data of the {whose} named by {PERSON_IDS[whose]}: reads "
                           f"{FORGOTTEN!r} once that person is forgotten"}
    return converted


def data_json_schema(type, version):
    converter = _converter()
    schema_class = SCHEMAS[(type, version)]
    return _with_personal(type, version, _with_conditions(schema_class, converter.schema2jsonschema(schema_class),
                                                          converter))


def event_json_schema(type, version):
    """JSON Schema of one event version: the whole envelope, with `data` that event's schema."""
    spec = EVENTS[type]
    envelope = _converter().schema2jsonschema(EnvelopeSchema)
    properties = envelope["properties"]
    properties["type"] = {"const": type}
    properties["version"] = {"const": version}
    properties["source"] = {"const": spec.source}
    properties["subject"]["description"] = f"equals data.{spec.subject_field}"
    properties["data"] = data_json_schema(type, version)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:portail-parents:event:{type}:v{version}",
        "title": f"{type} v{version}",
        "description": spec.description,
        **envelope,
    }


def example_envelope(type):
    """The published example of an event's latest version, validated by `contracts.parse`."""
    spec = EVENTS[type]
    version = spec.latest_version
    data = spec.examples[version]
    event = parse({
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:portail-parents:example:{type}:v{version}")),
        "type": type, "version": version, "source": spec.source,
        "subject": subject_of(spec, data), "time": EXAMPLE_TIME,
        "correlation_id": EXAMPLE_CORRELATION, "causation_id": None, "data": data,
    })
    return event.to_dict()


def _channel_id(source):
    return f"{source}_events"


def asyncapi_document():
    """One channel per exchange, one message per event type, a send operation for its producer
    and a receive operation for each consumer."""
    channels, operations, messages = {}, {}, {}
    for source in sorted({spec.source for spec in EVENTS.values()}):
        exchange = exchange_for(source)
        channels[_channel_id(source)] = {
            "address": exchange,
            "title": exchange,
            "description": f"Topic exchange of `{source}`; the routing key is the event type.",
            "messages": {},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": exchange, "type": EXCHANGE_TYPE, "durable": True,
                             "autoDelete": False, "vhost": "portal"},
                "bindingVersion": "0.3.0",
            }},
        }
    for type in sorted(EVENTS):
        spec = EVENTS[type]
        version = spec.latest_version
        channel = _channel_id(spec.source)
        messages[type] = {
            "name": type,
            "title": type,
            "summary": spec.description,
            "contentType": "application/json",
            "correlationId": {"location": "$message.payload#/correlation_id"},
            "headers": {"type": "object", "properties": {
                "subject": {"type": "string", "description": "the envelope's subject"}}},
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-2020-12",
                "schema": {"$ref": f"jsonschema/{type}.v{version}.json"},
            },
            "bindings": {"amqp": {"messageType": type, "bindingVersion": "0.3.0"}},
            "examples": [{"name": "example", "payload": example_envelope(type)}],
        }
        channels[channel]["messages"][type] = {"$ref": f"#/components/messages/{type}"}
        message_ref = [{"$ref": f"#/channels/{channel}/messages/{type}"}]
        operations[f"{spec.source}_sends_{type}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{spec.source} publishes {type}.",
            "messages": message_ref,
            "bindings": {"amqp": {"deliveryMode": PERSISTENT, "mandatory": spec.source == "sis",
                                  "bindingVersion": "0.3.0"}},
        }
        for consumer in spec.consumers:
            queue = "the school system" if consumer == "sis" else f"queue {consumer}.{spec.source}"
            operations[f"{consumer}_receives_{type}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{consumer} consumes {type} ({queue}).",
                "messages": message_ref,
                "bindings": {"amqp": {"ack": True, "bindingVersion": "0.3.0"}},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Portail Parents — bus d'événements / event bus",
            "version": "1.0.0",
            "description": (
                "Événements publiés par les systèmes scolaires (`sis`) et par les services du "
                "portail. Chaque message est une enveloppe JSON (id, type, version, source, "
                "subject, time, correlation_id, causation_id, data) publiée de façon persistante "
                "sur l'échange `<source>.events` avec la clé de routage = type.\n\n"
                "Events published by school systems (`sis`) and by the portal's services. Every "
                "message is a JSON envelope published persistently to the `<source>.events` "
                "exchange with routing key = type; `message_id` = id. Consumers: "
                + ", ".join(SERVICES) + "."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {
            "host": "localhost:5672",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "pathname": "/portal",
            "description": "The broker of a local `make run` (vhost `portal`).",
        }},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _json(document):
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def rendered_files():
    """{relative path: text} of everything the export writes."""
    files = {}
    for (type, version) in sorted(SCHEMAS):
        files[f"jsonschema/{type}.v{version}.json"] = _json(event_json_schema(type, version))
    for type in sorted(EVENTS):
        files[f"examples/{type}.json"] = _json(example_envelope(type))
    files["asyncapi.yaml"] = yaml.safe_dump(asyncapi_document(), sort_keys=False,
                                            allow_unicode=True, width=100)
    return files


def main(root=HERE):
    files = rendered_files()
    for folder in ("jsonschema", "examples"):
        (root / folder).mkdir(exist_ok=True)
        for stale in (root / folder).glob("*.json"):
            if f"{folder}/{stale.name}" not in files:
                stale.unlink()
    changed = 0
    for relative, text in files.items():
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed += 1
    print(f"{len(files)} files in {root}, {changed} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
