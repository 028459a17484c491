"""Grades' requests, as the service loads them and the gateway's OpenAPI document describes them."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validates

from servicekit.children import ID, ChildSchema


class ResultsSchema(ChildSchema):
    school_year = fields.String(load_default=None)

    @validates("school_year")
    def _year(self, value, **kwargs):
        if value is not None and (not re.fullmatch(r"[0-9]{4}-[0-9]{4}", value)
                                  or int(value[5:]) != int(value[:4]) + 1):
            raise ValidationError("invalid_school_year")


class BulletinSchema(ChildSchema):
    bulletin_id = ID
