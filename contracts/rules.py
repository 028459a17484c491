"""Cross-field rules used by the event schemas' `@validates_schema` methods.

Each rule raises a ValidationError keyed by the offending field, so the error names that field.
Their English wording is matched in `errors._KNOWN` for the French text and stable code.
"""
from marshmallow import ValidationError


def not_before(data, later, earlier):
    if data.get(later) is not None and data.get(earlier) is not None \
            and data[later] < data[earlier]:
        raise ValidationError(f"Must not be before {earlier}.", later)


def strictly_after(data, later, earlier):
    if data.get(later) is not None and data.get(earlier) is not None \
            and data[later] <= data[earlier]:
        raise ValidationError(f"Must be after {earlier}.", later)


def required_when(data, name, condition, holds):
    if holds and data.get(name) is None:
        raise ValidationError(f"Required when {condition}.", name)


def absent_unless(data, name, condition, holds):
    if not holds and data.get(name) is not None:
        raise ValidationError(f"Must be absent unless {condition}.", name)


def no_duplicates(data, name, key=lambda item: item):
    seen = set()
    for index, item in enumerate(data.get(name) or ()):
        value = key(item)
        if value in seen:
            raise ValidationError({name: {index: [f"Duplicate value {value}."]}})
        seen.add(value)


def equals(data, name, expected, how):
    if data.get(name) != expected:
        raise ValidationError(f"Must equal {how} ({expected}).", name)


def in_year(data, name, year):
    if data.get(name) is not None and data[name].year != year:
        raise ValidationError(f"Must be in year {year}.", name)


def each_between(data, name, key, first, last):
    for index, item in enumerate(data.get(name) or ()):
        if not data[first] <= item[key] <= data[last]:
            raise ValidationError({name: {index: {key: [f"Must be between {first} and {last}."]}}})
