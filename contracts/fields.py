"""Field types shared by the event schemas.

Each field is strict on purpose: the schemas are the public contract for school systems written
in any language, so a value is accepted only in its one canonical JSON form (no "yes" for true,
no 12.0 for 12, no naive timestamps). `json_schema` on a field class is merged into the exported
JSON Schema so that the published schemas say the same thing as the Python validation.
"""
import datetime as dt
import functools
import re

from marshmallow import fields, validate

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# Québec permanent code: 3 letters of the last name + 1 of the first name, birth day, birth month
# (+50 for girls), 2-digit birth year, then 2 ministry digits (absent until the ministry completes it).
PERMANENT_CODE_PATTERN = (
    r"^[A-Z]{4}(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2]|5[1-9]|6[0-2])[0-9]{2}([0-9]{2})?$"
)
STUDENT_NUMBER_PATTERN = r"^[0-9]{1,7}$"
# M4/M5 preschool, P1-P6 primary, S1-S5 secondary.
GRADE_PATTERN = r"^(M[45]|P[1-6]|S[1-5])$"
SCHOOL_YEAR_PATTERN = r"^[0-9]{4}-[0-9]{4}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 ().-]{6,24}( (poste|ext\.?) [0-9]{1,6})?$"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
# A PIN as the school system publishes it: lower-case hex HMAC-SHA256 (contracts.pin_hash).
PIN_HASH_PATTERN = r"^[0-9a-f]{64}$"


# What a personal field reads as once its person is forgotten (crypto-shredding,
# docs/decisions/0008-crypto-shredding.md): the stores keep the event, the value is gone.
FORGOTTEN = "[forgotten]"
# Whose data a personal field is, by the field of the same event that names that person.
PERSON_IDS = {"parent": "parent_id", "child": "student_id"}


def _optional(kwargs):
    """Optional fields may be absent or null and always appear in the loaded data (as None)."""
    if not kwargs.pop("required", True):
        kwargs.update(required=False, allow_none=True, load_default=None)
    else:
        kwargs["required"] = True
    return kwargs


# Text travels into mail headers, calendar lines and one-line screens, where a line break or a
# control character is an injection: one-line text refuses every control character (C0, DEL, C1,
# NEL included) and Unicode's line and paragraph separators; multi-line text (a message's body, a
# comment) allows line feed, carriage return and tab only.
ONE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def Text(max_length, multiline=False, **kwargs):
    """Human text: 1 to `max_length` characters, on one line unless `multiline`."""
    validators = [validate.Length(min=1, max=max_length),
                  validate.Regexp(MULTI_LINE_PATTERN if multiline else ONE_LINE_PATTERN,
                                  error="Contains a control character or a line break where none is allowed.")]
    return fields.String(validate=validators, **_optional(kwargs))


def Pattern(pattern, max_length, **kwargs):
    return fields.String(
        validate=[validate.Length(min=1, max=max_length), validate.Regexp(pattern)],
        **_optional(kwargs),
    )


def Id(**kwargs):
    """Opaque stable identifier from the school system (or a service): 1-64 safe characters."""
    return Pattern(ID_PATTERN, 64, **kwargs)


def Uuid(**kwargs):
    """A UUID in canonical lower-case form (Keycloak user ids, event ids)."""
    return Pattern(UUID_PATTERN, 36, **kwargs)


def Choice(*values, **kwargs):
    return fields.String(validate=validate.OneOf(values), **_optional(kwargs))


def Email(**kwargs):
    return fields.Email(validate=validate.Length(max=254), **_optional(kwargs))


def Phone(**kwargs):
    return Pattern(PHONE_PATTERN, 40, **kwargs)


def SchoolYear(**kwargs):
    return SchoolYearField(**_optional(kwargs))


def Cents(minimum=0, **kwargs):
    """An amount in integer cents; floats, strings and booleans are refused."""
    return StrictInteger(validate=validate.Range(min=minimum), **_optional(kwargs))


def Count(minimum=0, maximum=None, **kwargs):
    return StrictInteger(validate=validate.Range(min=minimum, max=maximum), **_optional(kwargs))


def Flag(**kwargs):
    return StrictBoolean(**_optional(kwargs))


def Date(**kwargs):
    return StrictDate(**_optional(kwargs))


def Time(**kwargs):
    return LocalTime(**_optional(kwargs))


def Instant(**kwargs):
    return UtcDateTime(**_optional(kwargs))


def Url(**kwargs):
    return UrlField(
        schemes={"https", "http"}, require_tld=False, validate=validate.Length(max=2048),
        **_optional(kwargs),
    )


def ListOf(item, min_items=0, max_items=1000, **kwargs):
    return fields.List(item, validate=validate.Length(min=min_items, max=max_items),
                       **_optional(kwargs))


def NestedList(schema, min_items=0, max_items=1000, **kwargs):
    return ListOf(fields.Nested(schema), min_items, max_items, **kwargs)


def Object(schema, **kwargs):
    return fields.Nested(schema, **_optional(kwargs))


def Personal(whose, field):
    """``field`` holds a person's own data (an email, a name, a birth date, free text): services
    store it encrypted with that person's key, and it reads as ``FORGOTTEN`` once the key is
    deleted. ``whose`` is a key of ``PERSON_IDS``. The marker is a valid value of the field, so
    that an event stored before the person was forgotten can still be replayed and relayed."""
    assert whose in PERSON_IDS, whose
    field.metadata = {**field.metadata, "personal": whose}
    field.__class__ = _forgettable(type(field))
    return field


@functools.cache
def _forgettable(field_class):
    class Forgettable(field_class):
        def deserialize(self, value, attr=None, data=None, **kwargs):
            return FORGOTTEN if value == FORGOTTEN else super().deserialize(value, attr, data, **kwargs)

        def _serialize(self, value, attr, obj, **kwargs):
            return FORGOTTEN if value == FORGOTTEN else super()._serialize(value, attr, obj, **kwargs)

    Forgettable.__name__ = Forgettable.__qualname__ = f"Personal{field_class.__name__}"
    return Forgettable


class StrictInteger(fields.Integer):
    """JSON integers only: 12.0, "12" and true are not amounts nor counts."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictBoolean(fields.Boolean):
    """JSON true or false only (marshmallow would also take 1, "yes", "on"...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictDate(fields.Date):
    """ISO calendar date `YYYY-MM-DD` only (no timestamps)."""

    json_schema = {"format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.datetime):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return super()._deserialize(value, attr, data, **kwargs)


class LocalTime(fields.Field):
    """Wall-clock time at the school, `HH:MM` (school times have no seconds nor offset)."""

    json_schema = {"type": "string", "pattern": TIME_PATTERN}
    default_error_messages = {"invalid": "Not a valid time (HH:MM)."}

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.time) and value.tzinfo is None:
            return value.replace(second=0, microsecond=0)
        if isinstance(value, str) and re.fullmatch(TIME_PATTERN, value):
            return dt.time(int(value[:2]), int(value[3:]))
        raise self.make_error("invalid")


class UtcDateTime(fields.Field):
    """An instant with an explicit offset, normalised to UTC and written with a `Z`."""

    json_schema = {"type": "string", "format": "date-time",
                   "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$"}
    default_error_messages = {
        "invalid": "Not a valid timestamp (ISO-8601 with an offset, e.g. 2026-09-01T12:00:00Z)."
    }

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and re.fullmatch(self.json_schema["pattern"], value):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                raise self.make_error("invalid") from None
        if isinstance(value, dt.datetime) and value.utcoffset() is not None:
            return value.astimezone(dt.timezone.utc)
        raise self.make_error("invalid")


class SchoolYearField(fields.String):
    """`2026-2027`: two consecutive years."""

    json_schema = {"pattern": SCHOOL_YEAR_PATTERN, "minLength": 9, "maxLength": 9}
    default_error_messages = {"invalid_year": "Not a school year (e.g. 2026-2027)."}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(SCHOOL_YEAR_PATTERN, value) or int(value[5:]) != int(value[:4]) + 1:
            raise self.make_error("invalid_year")
        return value


class UrlField(fields.Url):
    json_schema = {"format": "uri"}


def PermanentCode(**kwargs):
    return fields.String(
        validate=[validate.Length(min=10, max=12), validate.Regexp(
            PERMANENT_CODE_PATTERN,
            error="Not a permanent code: 4 capital letters, birth day, month (+50 for girls), "
                  "2-digit year, then 2 digits once completed by the ministry (12 or 10 characters).",
        )],
        **_optional(kwargs),
    )
