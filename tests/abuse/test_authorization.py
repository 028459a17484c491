"""Every child-scoped route of the served OpenAPI document, asked by a real parent about children
that are not theirs: never data, always the very same 404. The routes are read from the
document, so a route added later is covered without touching this test."""
import re

import requests

from scripts.school_calendar import next_school_day
from tests.abuse.conftest import API

# A plausible body for routes that take one: the refusal must come before any reading of it.
BODY = {"start_date": next_school_day().isoformat(), "kind": "full_day", "reason_code": "MAL", "explanation": "Rendez-vous",
        "answer": "confirm", "field": "address", "requested_value": "1 rue des Érables"}


def child_operations(portal) -> list[tuple[str, str]]:
    document = requests.get(f"{portal.url}{API}/openapi.json", timeout=20).json()
    operations = [(method.upper(), path) for path, item in document["paths"].items() if "{student_id}" in path
                  for method in item]
    assert len(operations) >= 15, operations  # the document did list the child routes
    return operations


def ask(portal, token: str, method: str, path: str, student_id: str, lang: str = "fr") -> requests.Response:
    # Other path parameters (an absence, a bulletin) get an id that could exist.
    url = re.sub(r"\{(\w+)\}", lambda m: student_id if m[1] == "student_id" else f"{m[1]}-1", path)
    return requests.request(method, f"{portal.url}{API}{url}", params={"lang": lang},
                            json=BODY if method in ("POST", "PUT") else None,
                            headers={"Authorization": f"Bearer {token}"}, timeout=20)


def test_a_child_that_is_not_the_parents_is_the_same_404_on_every_child_route(portal, family):
    token = family.asker.token()
    operations = child_operations(portal)
    refusals, differences = {}, []
    for method, path in operations:
        for case, student_id in family.foreign.items():
            answer = ask(portal, token, method, path, student_id)
            refusals[(method, path, case)] = (answer.status_code, answer.content)
            if (answer.status_code, answer.json()) != (404, {
                    "code": "child_not_found", "field": None,
                    "message": "Cet enfant n'est pas associé à votre compte."}):
                differences.append((method, path, case, answer.status_code, answer.text[:200]))
    print(f"{len(operations)} routes x {len(family.foreign)} children: {len(refusals)} requests")
    assert not differences, differences
    # Byte for byte the same answer, whatever the route and whichever child: nothing to tell apart.
    assert len({body for _, body in refusals.values()}) == 1


def test_the_refusal_is_the_same_in_english(portal, family):
    token = family.asker.token()
    bodies = {ask(portal, token, method, path, student_id, "en").content
              for method, path in child_operations(portal) for student_id in family.foreign.values()}
    assert len(bodies) == 1
    assert b"child_not_found" in bodies.pop()


def test_the_parents_own_child_is_answered_on_the_same_routes(portal, family):
    """The control: the same requests about the parent's own child are not refused, so the 404s
    above are about the child, not a broken route."""
    token = family.asker.token()
    refused = []
    for method, path in child_operations(portal):
        if path.endswith("/pdf"):
            # A made-up document id is refused like a foreign child, by design (decision 7):
            # tests/gateway/test_documents.py is these routes' control, with real ids.
            continue
        answer = ask(portal, token, method, path, family.own)
        if answer.status_code >= 500 or answer.status_code == 404 and answer.json()["code"] == "child_not_found":
            refused.append((method, path, answer.status_code, answer.text[:200]))
        elif method == "GET" and path.count("{") == 1 and answer.status_code != 200:
            refused.append((method, path, answer.status_code, answer.text[:200]))
    assert not refused, refused
