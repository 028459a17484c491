"""The error catalogue every service adds to: French and English say the same things."""
import json
import re
import string

from gateway.messages import HERE, Catalogue
from gateway.openapi import document
from gateway.routes import ROUTES


def _catalogues():
    return {lang: json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("fr", "en")}


def test_every_code_has_a_message_in_both_languages_with_the_same_placeholders():
    fr, en = _catalogues().values()
    assert set(fr) == set(en), set(fr) ^ set(en)
    for code in fr:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code), code
        assert fr[code].strip() and en[code].strip(), code
        names = [{n for _, n, _, _ in string.Formatter().parse(text) if n} for text in (fr[code], en[code])]
        assert names[0] == names[1], code


def test_messages_fill_their_values_and_fall_back_for_unknown_codes():
    catalogue = Catalogue()
    assert catalogue.message("too_many_attempts", "fr", {"retry_after": 60}) == \
        "Trop de tentatives. Réessayez dans 60 secondes."
    assert catalogue.message("no_such_code", "en") == catalogue.messages["en"]["invalid"]
    assert catalogue.message("required", "de") == catalogue.messages["fr"]["required"]


def test_openapi_names_every_route_once():
    paths = document(ROUTES)["paths"]
    operations = [(path, method) for path, item in paths.items() for method in item]
    assert len(operations) == len(set(operations))
    for route in ROUTES:
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        assert route.method.lower() in paths[path], route
