"""Linking's requests, as the service loads them and the gateway's OpenAPI document describes them."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.fields import MULTI_LINE_PATTERN
from servicekit.children import ID


TYPED = validate.Length(max=1000)  # bounds what is read; the domain says what is wrong with it
NOT_BLANK = {"json_schema": {"pattern": r"\S"}}  # the API's document: a blank name is the domain's "required"


class LinkRequestSchema(Schema):
    org_id = ID
    last_name = fields.String(required=True, validate=TYPED, metadata=NOT_BLANK)
    first_name = fields.String(required=True, validate=TYPED, metadata=NOT_BLANK)
    birth_date = fields.Date(required=True)
    student_number = fields.String(load_default=None, validate=validate.Length(max=20))
    permanent_code = fields.String(load_default=None, validate=validate.Length(max=20))
    pin = fields.String(load_default=None, validate=validate.Length(max=20))


class OrganisationQuerySchema(Schema):
    query = fields.String(load_default="", validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000, error="invalid_page"))
    page_size = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50, error="invalid_page_size"))
    kind = fields.String(load_default=None, validate=validate.OneOf(["public", "private"]))


# contracts.fields.ONE_LINE_PATTERN with one character at least that is not a space: the value is
# stripped before the event is made.
ONE_LINE_NOT_BLANK = (r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]"
                      r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$")


class CorrectionSchema(Schema):
    """What RecordCorrectionRequested accepts (contracts.fields.Text), refused here with its field
    rather than by the event, which would make a 502 of a parent's typing."""
    field = fields.String(required=True, validate=validate.OneOf(["address", "phone", "guardian_email"]))
    requested_value = fields.String(required=True, validate=[
        validate.Length(min=1, max=200), validate.Regexp(ONE_LINE_NOT_BLANK)])
    comment = fields.String(load_default=None, validate=[
        validate.Length(min=1, max=500), validate.Regexp(MULTI_LINE_PATTERN)])


class DecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["confirm", "decline"]))
