"""The OpenAPI 3.1 document of ``/api/v1``, built from the route table."""
from __future__ import annotations

import re

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
    "400": "Malformed request", "401": "No valid token", "404": "Not found, or a child that is not the parent's",
    "409": "Contradicts what is recorded", "422": "Invalid input (code and field say what)",
    "413": "Body longer than the route accepts", "429": "Too many attempts",
    "503": "The service did not answer in time",
}


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
    paths["/me/export"] = {"get": _extra("Everything held on the parent and their children, as one JSON file",
                                         "accounts", {"type": "object"})}
    paths["/events"] = {"get": _extra(
        "Server-sent events about the parent's children (absences, results, statements, messages, links)",
        "live", {"type": "string"}, media="text/event-stream")}
    paths["/events"]["get"]["responses"].update(_errors(["429"]))  # the parent's streams all open already
    paths["/calendar/{token}.ics"] = {"get": {
        "summary": "The parent's private iCalendar feed (the secret address is the credential)",
        "tags": ["notifications"], "security": [],
        "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "OK", "content": {"text/calendar": {"schema": {"type": "string"}}}},
                      **_errors(["404", "503"])}}}
    paths["/config"] = {"get": {"summary": "Public login settings of the web client", "tags": ["web"],
                                "security": [], "responses": {"200": {"description": "OK"}}}}
    paths["/openapi.json"] = {"get": {"summary": "This document", "tags": ["web"], "security": [],
                                      "responses": {"200": {"description": "OK"}}}}
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


def _parameters(route) -> list:
    names = re.findall(r"<(?:\w+:)?(\w+)>", route.path)
    parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
                  for n in names]
    parameters += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in route.query]
    parameters.append({"name": "lang", "in": "query", "required": False, "schema": {"enum": ["fr", "en"]}})
    return parameters


def _errors(codes) -> dict:
    return {code: {"description": ERRORS[code], "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}} for code in codes}


def _operation(route) -> dict:
    codes = ["400", "413", "422", "429", "503"] + ([] if route.public else ["401"]) + (["404"] if route.child else [])
    operation = {
        "operationId": f"{route.method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', route.path)}",
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route),
        "responses": {str(route.status): {"description": "OK", "content": _content(route)},
                      **_errors(sorted(set(codes)))},
    }
    if route.body or route.fields:
        schema = {"type": "object"}
        if route.fields:
            schema["properties"] = {name: {"type": "string"} for name in route.fields}
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if route.public:
        operation["security"] = []
    return operation


def _content(route) -> dict:
    if route.document:
        return {"application/pdf": {}}  # binary: OpenAPI 3.1 omits the schema
    return {"application/json": {"schema": {}}}


def _extra(summary: str, tag: str, schema: dict, child: bool = False, media: str = "application/json") -> dict:
    parameters = [{"name": "student_id", "in": "path", "required": True, "schema": {"type": "string"}}] if child else []
    return {"summary": summary, "tags": [tag], "parameters": parameters,
            "responses": {"200": {"description": "OK", "content": {media: {"schema": schema}}},
                          **_errors(["401", "503"] + (["404"] if child else []))}}
