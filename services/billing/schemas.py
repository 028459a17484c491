"""Billing's requests, as the service loads them and the gateway's OpenAPI document describes them."""
from __future__ import annotations

from marshmallow import fields, validate

from servicekit.children import ANY_CHILD, ID, ChildSchema, ParentSchema


class ReceiptSchema(ChildSchema):
    receipt_id = ID


class ReceiptsSchema(ParentSchema):
    student_id = ANY_CHILD
    year = fields.Integer(load_default=None, strict=False, validate=validate.Range(2000, 2100))
