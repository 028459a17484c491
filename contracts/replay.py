"""Events between their loaded form and their wire form, once they have been validated.

Replaying a store (``rebuild-projections``) must be fast and give exactly what ``parse`` gave
when the event arrived; marshmallow's ``load`` validates every field again, several times the
cost of turning the few typed fields (dates, times, instants) back into Python values. Storing
a batch of events taken in is the same in the other direction (``dump_loaded``): marshmallow's
``dump`` walks every field where only those few need writing out. The plan per schema comes
from the schema's own fields, so it cannot drift from the contract (and a test compares both
with marshmallow for every event).
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


def _utc_text(value):
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _hours_minutes(value):
    return value.strftime("%H:%M")


# Per typed field: (stored -> loaded, loaded -> stored).
_TYPED = ((fields.Date, _date, dt.date.isoformat), (f.LocalTime, _time, _hours_minutes),
          (f.UtcDateTime, _instant, _utc_text))


def _converter(field, way: int):
    """The function that turns the field's value one way (0: stored to loaded, 1: loaded to
    stored), or None when the two forms are the same."""
    for kind, *functions in _TYPED:
        if isinstance(field, kind):
            return functions[way]
    if isinstance(field, fields.Nested):
        plan = _plan(type(field.schema), way)
        return (lambda value: _apply(plan, value)) if plan else None
    if isinstance(field, fields.List):
        inner = _converter(field.inner, way)
        return (lambda values: [inner(v) if v is not None else None for v in values]) if inner else None
    return None


@functools.cache
def _plan(schema_class, way: int):
    schema = schema_class()
    return tuple((name, convert) for name, field in schema.fields.items()
                 if (convert := _converter(field, way)) is not None)


def _apply(plan, data: dict) -> dict:
    converted = dict(data)
    for name, convert in plan:
        value = converted.get(name)
        if value is not None and value != f.FORGOTTEN:
            converted[name] = convert(value)
    return converted


def load_stored(type, version, data: dict) -> dict:
    """``data`` as stored by a service (the wire form of a validated event), loaded without
    validating it again."""
    return _apply(_plan(SCHEMAS[(type, version)], 0), data)


def dump_loaded(type, version, data: dict) -> dict:
    """``data`` as ``parse`` loaded it, in its wire form (what the schema's ``dump`` gives)."""
    return _apply(_plan(SCHEMAS[(type, version)], 1), data)
