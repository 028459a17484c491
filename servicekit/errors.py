"""Errors a service returns to its caller: a stable code, the offending field, message values.

Pure Python, so that domains raise them. ``servicekit.rpc`` registers them with nameko, so they
cross RPC as themselves and the gateway turns them into a 4xx with a message from its catalogue;
anything else is a 5xx and a bug.
"""
from __future__ import annotations

import json

from marshmallow import Schema, ValidationError


class DomainError(Exception):
    """A request refused for a reason the user can act on."""

    status = 422

    def __init__(self, code: str, field: str | None = None, params: dict | str | None = None):
        # nameko turns every argument but a string, list or dict into its str() on the way
        # (None becomes "None", 3600 becomes "3600"): the args cross as JSON text and are read back.
        if isinstance(params, str):
            params = json.loads(params)
        field = field or None
        super().__init__(code, field or "", json.dumps(params or {}))
        self.code, self.field, self.params = code, field, params or {}

    def __str__(self) -> str:
        return f"{self.code}" + (f" ({self.field})" if self.field else "")


class NotFound(DomainError):
    """Nothing there for this parent: also the answer for a child that is not theirs."""

    status = 404

    def __init__(self, code: str = "not_found", field: str | None = None, params: dict | None = None):
        super().__init__(code, field, params)


class Conflict(DomainError):
    """The request contradicts what is already recorded (e.g. justifying twice)."""

    status = 409


class Unavailable(DomainError):
    """Something this request needs is out of reach for now (Keycloak, the mail server): nothing
    was changed, and trying again later will do."""

    status = 503


class TooManyAttempts(DomainError):
    """A limit was reached; ``params["retry_after"]`` says in how many seconds to try again."""

    status = 429


def load(schema: Schema, payload) -> dict:
    """``payload`` validated by ``schema``; the first offending field becomes a DomainError."""
    if not isinstance(payload, dict):
        raise DomainError("invalid_request")
    with_nul = _first_nul(payload)
    if with_nul is not None:
        # PostgreSQL's text cannot hold NUL: refused here, for every field of every request.
        raise DomainError("invalid", field=with_nul)
    try:
        return schema.load(payload)
    except ValidationError as exc:
        field, problem = _first(exc.messages)
        raise DomainError(_code(problem), field=field) from None


def _first_nul(value, path: str = "") -> str | None:
    """The path of the first string (key or value) holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        here = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return here
        found = _first_nul(inner, here)
        if found is not None:
            return found
    return None


def _first(messages, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        name, inner = next(iter(messages.items()))
        path = f"{prefix}.{name}" if prefix else str(name)
        return _first(inner, path) if isinstance(inner, (dict, list)) else (path, str(inner))
    if isinstance(messages, list) and messages:
        return _first(messages[0], prefix) if isinstance(messages[0], (dict, list)) else (prefix, str(messages[0]))
    return prefix, "invalid"


def _code(problem: str) -> str:
    """marshmallow's wording → our stable codes (schemas may also raise a code directly)."""
    known = {
        "Missing data for required field.": "required",
        "Field may not be null.": "required",
        "Unknown field.": "unknown_field",
        "Not a valid date.": "invalid_date",
        "Not a valid time.": "invalid_time",
        "Not a valid string.": "invalid",
        "Not a valid integer.": "invalid_number",
        "Not a valid email address.": "invalid_email",
    }
    if problem in known:
        return known[problem]
    if problem.startswith("Must be one of"):
        return "invalid_choice"
    if problem.startswith("Length must be") or problem.startswith("Longer than"):
        return "invalid_length"
    return problem if problem.replace("_", "").isalnum() and problem.islower() else "invalid"
