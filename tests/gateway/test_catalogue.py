"""The error catalogue every service adds to: French and English say the same things."""
import ast
import inspect
import json
import re
import string
from pathlib import Path

from gateway.http import ApiError
from gateway.messages import HERE, Catalogue
from gateway.openapi import document
from gateway.routes import ROUTES
from servicekit.errors import DomainError
from servicekit.errors import _code as errors_code


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


# Every code a service or the gateway can answer with, read from the source: the codes written in
# the calls of the error classes, and the codes marshmallow's refusals become (servicekit.errors).
SCANNED = ("services", "servicekit", "gateway", "contracts")
REPO = Path(__file__).resolve().parents[2]

# Where a code reaches an error class through a variable, the codes that variable can hold. A new
# such place fails the scan until it is listed here, and each code listed must be written in its file.
COMPUTED = {
    # marshmallow's wording turned into our codes (_code)
    "servicekit/errors.py": {"required", "unknown_field", "invalid_date", "invalid_time", "invalid",
                             "invalid_number", "invalid_email", "invalid_choice", "invalid_length"},
    # the first password rule a password breaks (PasswordRule.unmet)
    "services/identity/domain.py": {"password_too_short", "password_too_long", "password_too_simple",
                                    "password_is_email"},
    # Keycloak's 409, named by the caller (_refusal)
    "services/identity/accounts.py": {"account_exists", "email_in_use"},
    # the router's own refusals
    "gateway/app.py": {"not_found", "method_not_allowed", "invalid_request"},
}


def _error_classes() -> dict:
    """Each error class whose code a parent may read, by name: its parameters, the code's default."""
    classes, todo = {}, [DomainError, ApiError]
    while todo:
        cls = todo.pop()
        parameters = inspect.signature(cls).parameters
        classes[cls.__name__] = (list(parameters), parameters["code"].default)
        todo += cls.__subclasses__()
    return classes


def _argument(call: ast.Call, parameters: list, name: str):
    given = {k.arg: k.value for k in call.keywords}
    index = parameters.index(name)
    return given.get(name, call.args[index] if len(call.args) > index else None)


def _codes(node) -> set[str] | None:
    """The codes an argument can be: its literals, or None when it is computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        both = _codes(node.body), _codes(node.orelse)
        return None if None in both else both[0] | both[1]
    return None


def _values(node) -> set[str] | None:
    """The names of the values given with a code (``params``), or None when they are computed."""
    if node is None:
        return set()
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return {k.value for k in node.keys}
    return None


def _refusals(node) -> list:
    """The messages a marshmallow ValidationError carries (a text, or texts nested by field)."""
    if isinstance(node, ast.Dict):
        return [m for value in node.values for m in _refusals(value)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [m for item in node.elts for m in _refusals(item)]
    return [node]


def _refusal_code(node) -> str | None:
    """The code ``servicekit.errors.load`` makes of a refusal's message; None when computed. An
    English sentence with values in it is marshmallow's way, and becomes a generic code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return errors_code(node.value)
    if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant) \
            and node.values[0].value[:1].isupper():
        return errors_code("".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values))
    return None


def _scan() -> tuple[dict, dict]:
    """(code -> [(where it is made, the names of the values given with it, None if unknown)],
    file -> lines where a code is computed)."""
    classes = _error_classes()
    found, computed = {}, {}
    for directory in SCANNED:
        for path in sorted((REPO / directory).rglob("*.py")):
            name = path.relative_to(REPO).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                codes: set[str] | None = set()
                values: set[str] | None = set()  # a marshmallow refusal carries none
                if called in classes:
                    parameters, default = classes[called]
                    given = _argument(node, parameters, "code")
                    values = _values(_argument(node, parameters, "params"))
                    if given is None:
                        codes = {default}
                    elif isinstance(given, ast.Attribute) and given.attr == "code":
                        codes = set()  # an error's code passed on: found where that error is made
                    else:
                        codes = _codes(given)
                elif called == "ValidationError" and node.args:
                    made = [_refusal_code(m) for m in _refusals(node.args[0])]
                    codes = None if None in made else set(made)
                for keyword in node.keywords:  # a validator's own message (validate.Range(error=...))
                    if keyword.arg == "error" and codes is not None:
                        made = _refusal_code(keyword.value)
                        codes = None if made is None else codes | {made}
                if codes is None:
                    computed.setdefault(name, []).append(node.lineno)
                for code in codes or ():
                    found.setdefault(code, []).append((f"{name}:{node.lineno}", values))
    return found, computed


def test_every_code_the_code_can_answer_with_has_its_messages_and_their_values():
    found, computed = _scan()
    assert {"date_in_past", "child_not_found", "token_missing", "invalid_page", "not_found"} <= set(found)
    assert set(computed) == set(COMPUTED), f"list where these codes are computed: {computed}"
    for name, codes in COMPUTED.items():
        written = {n.value for n in ast.walk(ast.parse((REPO / name).read_text(encoding="utf-8")))
                   if isinstance(n, ast.Constant)}
        assert codes <= written, (name, codes - written)
        for code in codes:
            found.setdefault(code, []).append((name, None))
    for lang, messages in _catalogues().items():
        missing = {code: [where for where, _ in made] for code, made in found.items() if code not in messages}
        assert not missing, f"codes without a message in {lang}.json: {missing}"
        # A value the message shows but the code comes without would reach the parent as "{name}".
        unfilled = [(where, code, shown - values) for code, made in found.items() for where, values in made
                    if values is not None
                    and (shown := {n for _, n, _, _ in string.Formatter().parse(messages[code]) if n}) - values]
        assert not unfilled, f"codes made without the values of their message in {lang}.json: {unfilled}"
