"""Attendance's requests, as the service loads them and the gateway's OpenAPI document describes
them."""
from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, ValidationError, fields, validate

from servicekit.children import ChildSchema

from . import agenda as agendas
from . import domain


class DeclarationSchema(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(load_default=None)
    kind = fields.String(required=True, validate=validate.OneOf(
        [domain.FULL_DAY, domain.LATE_ARRIVAL, domain.EARLY_DEPARTURE]))
    time = fields.Time(load_default=None)
    reason_code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    explanation = fields.String(load_default=None, validate=validate.Length(max=500))


class Base64(fields.Field):
    """Bytes sent as base64 text (RPC carries JSON); refused unread when obviously too large."""

    # What the API's document says of it: base64's alphabet, which b64decode(validate=True) holds to.
    json_schema = {"type": "string", "contentEncoding": "base64", "pattern": r"^[A-Za-z0-9+/]*={0,2}$"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("invalid_base64")
        if len(value) > (agendas.MAX_DOCUMENT_BYTES // 3 + 1) * 4:
            raise agendas.document_too_large()  # with the limit its message shows
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("invalid_base64") from None


class DocumentSchema(Schema):
    content_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    content_base64 = Base64(required=True)


class JustificationSchema(Schema):
    reason_code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    explanation = fields.String(load_default=None, validate=validate.Length(max=500))
    document_ref = fields.String(load_default=None, validate=validate.Length(max=200))
    document = fields.Nested(DocumentSchema, load_default=None, allow_none=True)


class AgendaSchema(ChildSchema):
    start = fields.Date(load_default=None)
    end = fields.Date(load_default=None)


class DocumentRefSchema(Schema):
    document_ref = fields.String(required=True, validate=validate.Length(min=1, max=200))
