"""Notices' requests, as the service loads them and the gateway's OpenAPI document describes them."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from contracts.fields import Id
from servicekit.children import ANY_CHILD, ID, ParentSchema

from . import domain, templates


class VerificationCodeSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="invalid_code_format"))
    locale = fields.String(required=True, validate=validate.OneOf(templates.LOCALES))
    flow = fields.String(required=True, validate=validate.OneOf(templates.FLOWS))


class QuietHoursSchema(Schema):
    start = fields.Time(required=True)
    end = fields.Time(required=True)

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if data["start"] == data["end"]:
            raise ValidationError("quiet_hours_empty", "end")


class ChildPreferencesSchema(Schema):
    student_id = ID
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(domain.KINDS)),
                        values=fields.String(validate=validate.OneOf(domain.MODES)), required=True)


class PreferencesSchema(Schema):
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    children = fields.List(fields.Nested(ChildPreferencesSchema), validate=validate.Length(max=50))


class RequestSchema(ParentSchema):
    student_id = ANY_CHILD
    message_id = Id(required=False)
