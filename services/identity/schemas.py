"""Identity's requests, as the service loads them and the gateway's OpenAPI document describes them."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.fields import StrictBoolean
from servicekit.children import ParentSchema

from . import domain


EMAIL = fields.Email(required=True, validate=validate.Length(max=254))
LOCALE = fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))
FLOW = fields.String(required=True, validate=validate.OneOf(domain.FLOWS))
TICKET = fields.String(required=True, validate=validate.Length(min=1, max=100))
PASSWORD = fields.String(required=True, validate=validate.Length(max=1024))


class RequestCodeSchema(Schema):
    flow = FLOW
    email = EMAIL
    locale = LOCALE
    client_address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    parent_id = fields.UUID(load_default=None)


class VerifyCodeSchema(Schema):
    flow = FLOW
    email = EMAIL
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="code_format"))


class NewPasswordSchema(Schema):
    ticket = TICKET
    password = PASSWORD
    password_confirmation = PASSWORD
    locale = LOCALE


class ClaimSchema(ParentSchema):
    ticket = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class TwoFactorSchema(ParentSchema):
    enabled = StrictBoolean(required=True)


class SessionSchema(ParentSchema):
    session_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class CloseSchema(ParentSchema):
    confirmation = fields.String(required=True, validate=validate.Length(max=254))


class PasskeySchema(ParentSchema):
    passkey_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
