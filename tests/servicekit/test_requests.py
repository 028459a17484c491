"""Requests as every service loads them (``servicekit.errors.load``): refusals name the field."""
import pytest

from servicekit import errors
from servicekit.children import ChildSchema
from services.notices.service import RequestSchema

PARENT = "0b6f3a52-3c1e-4d8a-9f51-2f4c7f9e8a10"


def refusal(schema, payload) -> tuple[str, str]:
    with pytest.raises(errors.DomainError) as refused:
        errors.load(schema, payload)
    return refused.value.code, refused.value.field


def test_a_parent_is_named_by_keycloak_s_user_id_as_the_contracts_write_it():
    assert refusal(ChildSchema(), {"parent_id": "p-1", "student_id": "css.1"}) == ("invalid", "parent_id")
    assert refusal(ChildSchema(), {"parent_id": PARENT.upper(), "student_id": "css.1"}) == ("invalid", "parent_id")


def test_a_nul_anywhere_is_refused_with_its_field_before_it_reaches_the_database():
    # PostgreSQL's text cannot hold NUL: such a value once reached the inbox's query as a 502.
    assert refusal(RequestSchema(), {"parent_id": PARENT, "student_id": "css.1\x00"}) == ("invalid", "student_id")
    assert refusal(ChildSchema(), {"parent_id": PARENT, "student_id": "css.1", "x": {"a": ["ok", "\x00"]}}) \
        == ("invalid", "x.a.1")
    assert refusal(ChildSchema(), {"parent_id": PARENT, "student_id": "css.1", "k\x00": 1}) == ("invalid", "k\x00")


def test_ids_in_requests_are_ids_as_the_contracts_write_them():
    assert errors.load(ChildSchema(), {"parent_id": PARENT, "student_id": "css-a.7654321"})["student_id"] \
        == "css-a.7654321"
    code, field = refusal(ChildSchema(), {"parent_id": PARENT, "student_id": "§ é"})
    assert field == "student_id" and code.startswith("invalid")
    assert errors.load(RequestSchema(), {"parent_id": PARENT, "student_id": None})["student_id"] is None
