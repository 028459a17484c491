"""Loading events back from a service's own store, where they were validated once already.

Replaying a store (``rebuild-projections``) must be fast and give exactly what ``parse`` gave
when the event arrived; marshmallow's ``load`` validates every field again, several times the
cost of turning the few typed fields (dates, times, instants) back into Python values. The plan
per schema comes from the schema's own fields, so it cannot drift from the contract.
"""
import datetime as dt
import functools

from marshmallow import fields

from . import fields as f
from .registry import SCHEMAS


def _date(value):
    return dt.date.fromisoformat(value)


def _time(value):
    return dt.time(int(value[:2]), int(value[3:5]))


def _instant(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def _converter(field):
    """The function that turns the field's stored (JSON) value into its loaded value, or None
    when the two are the same."""
    if isinstance(field, fields.Date):
        return _date
    if isinstance(field, f.LocalTime):
        return _time
    if isinstance(field, f.UtcDateTime):
        return _instant
    if isinstance(field, fields.Nested):
        plan = _plan(type(field.schema))
        return (lambda value: _apply(plan, value)) if plan else None
    if isinstance(field, fields.List):
        inner = _converter(field.inner)
        return (lambda values: [inner(v) if v is not None else None for v in values]) if inner else None
    return None


@functools.cache
def _plan(schema_class):
    schema = schema_class()
    return tuple((name, convert) for name, field in schema.fields.items()
                 if (convert := _converter(field)) is not None)


def _apply(plan, stored: dict) -> dict:
    loaded = dict(stored)
    for name, convert in plan:
        value = loaded.get(name)
        if value is not None:
            loaded[name] = convert(value)
    return loaded


def load_stored(type, version, data: dict) -> dict:
    """``data`` as stored by a service (the wire form of a validated event), loaded without
    validating it again."""
    return _apply(_plan(SCHEMAS[(type, version)]), data)
