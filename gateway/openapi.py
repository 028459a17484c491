"""The OpenAPI 3.1 document of ``/api/v1``, built from the route table.

What a route accepts is said by the marshmallow schema its service validates with (``SCHEMAS``),
converted by apispec: its path and query parameters, the body fields it passes, or the whole body.
Every status the route can answer is declared: the gateway's own (400, 401, 413, 422 for ``lang``)
and every status of a service's domain errors (404, 409, 422, 429, 503).
"""
from __future__ import annotations

import copy
import functools
import importlib
import re

from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import fields, validate

# The schema each service method loads its arguments with (fields named like the route's), from
# the service's ``schemas`` module: it imports no service code, so the gateway registers none of
# the services' metrics.
SCHEMAS = {
    ("identity", "request_code"): "services.identity.schemas:RequestCodeSchema",
    ("identity", "verify_code"): "services.identity.schemas:VerifyCodeSchema",
    ("identity", "register"): "services.identity.schemas:NewPasswordSchema",
    ("identity", "reset_password"): "services.identity.schemas:NewPasswordSchema",
    ("identity", "claim_school_email"): "services.identity.schemas:ClaimSchema",
    ("identity", "set_two_factor"): "services.identity.schemas:TwoFactorSchema",
    ("identity", "end_session"): "services.identity.schemas:SessionSchema",
    ("identity", "close_account"): "services.identity.schemas:CloseSchema",
    ("linking", "organisations"): "services.linking.schemas:OrganisationQuerySchema",
    ("linking", "link_child"): "services.linking.schemas:LinkRequestSchema",
    ("linking", "request_correction"): "services.linking.schemas:CorrectionSchema",
    ("linking", "submit_reenrollment"): "services.linking.schemas:DecisionSchema",
    ("attendance", "declare_absence"): "services.attendance.schemas:DeclarationSchema",
    ("attendance", "justify_absence"): "services.attendance.schemas:JustificationSchema",
    ("attendance", "agenda"): "services.attendance.schemas:AgendaSchema",
    ("grades", "results"): "services.grades.schemas:ResultsSchema",
    ("grades", "bulletin"): "services.grades.schemas:BulletinSchema",
    ("billing", "tax_receipts"): "services.billing.schemas:ReceiptsSchema",
    ("billing", "tax_receipt"): "services.billing.schemas:ReceiptSchema",
    ("notices", "inbox"): "services.notices.schemas:RequestSchema",
    ("notices", "mark_read"): "services.notices.schemas:RequestSchema",
    ("notices", "set_preferences"): "services.notices.schemas:PreferencesSchema",
}
# An id in an address, where no schema says more (servicekit.children.ID).
ID = {"type": "string", "minLength": 1, "maxLength": 64}
# Every request refuses a NUL character (servicekit.errors.load: PostgreSQL's text cannot hold
# one); a string with a pattern or a format of its own already says so.
NO_NUL = {"pattern": r"^[^\u0000]*$"}
# marshmallow's Time reads HH:MM[:SS]; JSON Schema's "time" format would also ask for an offset.
TIME = {"pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"}
LANG = {"name": "lang", "in": "query", "required": False, "schema": {"type": "string", "enum": ["fr", "en"]},
        "description": "the language of error messages (else Accept-Language)"}

ERROR = {
    "type": "object", "required": ["code", "message", "field"],
    "properties": {
        "code": {"type": "string", "description": "stable code, e.g. child_not_found"},
        "message": {"type": "string", "description": "in the request's language (Accept-Language or ?lang=)"},
        "field": {"type": ["string", "null"], "description": "the offending field, when there is one"},
        "params": {"type": "object", "description": "values the message names, e.g. retry_after"},
    },
}
TILE = {
    "type": "object", "required": ["status"],
    "properties": {
        "status": {"enum": ["ok", "stale", "unavailable", "error"],
                   "description": "stale: the service did not answer in time and data is its last answer"},
        "data": {"description": "the service's answer"},
        "as_of": {"type": "string", "format": "date-time"},
        "code": {"type": "string"},
    },
}
ERRORS = {
    "400": "Malformed request", "401": "No valid token, or its session ended",
    "403": "A recent login is needed (log in again)", "404": "Not found, or a child that is not the parent's",
    "409": "Contradicts what is recorded", "422": "Invalid input (code and field say what)",
    "413": "Body longer than the route accepts", "429": "Too many attempts",
    "503": "The service did not answer in time",
}
# What a service's answer may be besides its own: a domain error of any kind, or the gateway's.
ROUTE_ERRORS = ["400", "404", "409", "413", "422", "429", "503"]
# A composition's or a stream's: the parent's own account or family lookups, and the gateway's.
EXTRA_ERRORS = ["401", "404", "409", "413", "422", "429", "503"]


def document(routes) -> dict:
    paths: dict = {}
    for route in routes:
        paths.setdefault(_path(route.path), {})[route.method.lower()] = _operation(route)
    paths["/children/{student_id}/dashboard"] = {"get": _extra(
        "A child's home: every tile the school shows, each fetched in parallel with a deadline",
        "children", {"type": "object", "properties": {
            "student_id": {"type": "string"},
            "tiles": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Tile"}},
            "stale": {"type": "array", "items": {"type": "string"}, "description": "tiles not fresh"}}},
        child=True)}
    paths["/family"] = {"get": _extra("What is new for every child, in one place", "family", {"type": "object"})}
    paths["/me/export"] = {"get": _extra(
        "Everything held on the parent and their children, as one JSON file (a recent login)", "accounts",
        {"type": "object"})}
    paths["/me/export"]["get"]["responses"].update(_errors(["403"]))
    paths["/events"] = {"get": _extra(
        "Server-sent events about the parent's children (absences, results, statements, messages, links)",
        "live", {"type": "string"}, media="text/event-stream")}
    paths["/calendar/{token}.ics"] = {"get": {
        "summary": "The parent's private iCalendar feed (the secret address is the credential)",
        "tags": ["notifications"], "security": [],
        "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}, LANG],
        "responses": {"200": {"description": "OK", "content": {"text/calendar": {"schema": {"type": "string"}}}},
                      **_errors(["404", "409", "413", "422", "429", "503"])}}}
    paths["/config"] = {"get": {"summary": "Public login settings of the web client", "tags": ["web"],
                                "security": [], "parameters": [LANG],
                                "responses": {"200": {"description": "OK", "content": {
                                    "application/json": {"schema": {"type": "object"}}}},
                                    **_errors(["413", "422"])}}}
    paths["/openapi.json"] = {"get": {"summary": "This document", "tags": ["web"], "security": [],
                                      "parameters": [LANG],
                                      "responses": {"200": {"description": "OK", "content": {
                                          "application/json": {"schema": {"type": "object"}}}},
                                          **_errors(["413", "422"])}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Portail Parents API", "version": "1.0.0",
                 "description": "The parents' API. Errors: JSON with `code`, `message` (fr or en), `field`."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                           "description": "Keycloak access token (realm portal, audience portal-api)"}},
            "schemas": {"Error": ERROR, "Tile": TILE},
        },
    }


def _path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


@functools.cache
def _schema(service: str, rpc: str) -> dict:
    """The JSON Schema of the marshmallow schema ``service.rpc`` loads its arguments with."""
    where = SCHEMAS.get((service, rpc))
    if where is None:
        return {"type": "object", "properties": {}}
    module, name = where.split(":")
    converter = OpenAPIConverter("3.1.0", schema_name_resolver=lambda schema: None, spec=None)
    converter.add_attribute_function(_field_json_schema)
    return converter.schema2jsonschema(getattr(importlib.import_module(module), name)())


def _field_json_schema(self, field, **kwargs) -> dict:
    """What apispec cannot read from a field: a field class's or a field's own ``json_schema``
    (as in contracts.export), a time's form, the keys a dict allows."""
    extra = {**getattr(field, "json_schema", {}), **field.metadata.get("json_schema", {})}
    if isinstance(field, fields.Time):
        extra.update(TIME)
    elif (isinstance(field, fields.String) and not isinstance(field, fields.Email) and "pattern" not in extra
          and not any(isinstance(v, validate.Regexp) for v in field.validators)):
        extra.update(NO_NUL)
    if isinstance(field, fields.Dict) and field.key_field is not None:
        choices = [v.choices for v in field.key_field.validators if isinstance(v, validate.OneOf)]
        if choices:
            extra["propertyNames"] = {"enum": list(choices[0])}
    return extra


def _in_address(schema: dict) -> dict:
    """A property as a path or query parameter: never null, which an address cannot say."""
    schema = {k: v for k, v in copy.deepcopy(schema).items() if k != "default"}
    if isinstance(schema.get("type"), list):
        kinds = [t for t in schema["type"] if t != "null"]
        schema["type"] = kinds[0] if len(kinds) == 1 else kinds
    if "enum" in schema:
        schema["enum"] = [v for v in schema["enum"] if v is not None]
    return schema


def _parameters(route) -> list:
    properties = _schema(route.service, route.rpc).get("properties", {})
    names = re.findall(r"<(?:\w+:)?(\w+)>", route.path)
    parameters = [{"name": n, "in": "path", "required": True, "schema": _in_address(properties.get(n, ID))}
                  for n in names]
    parameters += [{"name": n, "in": "query", "required": False,
                    "schema": _in_address(properties.get(n, {"type": "string"}))} for n in route.query]
    parameters.append(LANG)
    return parameters


def _body(route) -> dict:
    """The whole body the service loads, or the fields the gateway passes on (others are ignored)."""
    schema = copy.deepcopy(_schema(route.service, route.rpc))
    if route.body:
        return schema if SCHEMAS.get((route.service, route.rpc)) else {"type": "object"}
    properties = schema.get("properties", {})
    required = [name for name in route.fields if name in schema.get("required", ())]
    body = {"type": "object", "properties": {name: properties.get(name, {"type": "string"}) for name in route.fields}}
    if required:
        body["required"] = required
    return body


def _errors(codes) -> dict:
    return {code: {"description": ERRORS[code], "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}} for code in codes}


def _operation(route) -> dict:
    codes = ROUTE_ERRORS + ([] if route.public else ["401"]) + (["403"] if route.recent_login else [])
    operation = {
        "operationId": f"{route.method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', route.path)}",
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route),
        "responses": {str(route.status): {"description": "OK", "content": _content(route)},
                      **_errors(sorted(set(codes)))},
    }
    if route.body or route.fields:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _body(route)}}}
    if route.public:
        operation["security"] = []
    return operation


def _content(route) -> dict:
    if route.document:
        return {"application/pdf": {}}  # binary: OpenAPI 3.1 omits the schema
    return {"application/json": {"schema": {}}}


def _extra(summary: str, tag: str, schema: dict, child: bool = False, media: str = "application/json") -> dict:
    parameters = [{"name": "student_id", "in": "path", "required": True, "schema": ID}] if child else []
    return {"summary": summary, "tags": [tag], "parameters": parameters + [LANG],
            "responses": {"200": {"description": "OK", "content": {media: {"schema": schema}}},
                          **_errors(EXTRA_ERRORS)}}
