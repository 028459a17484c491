"""The gateway's served OpenAPI document, fuzzed with schemathesis as a real parent (a Keycloak
token of the portal realm): whatever arrives, no 5xx, and every 4xx is a JSON error with a code.

Reproducible (derandomized) and bounded: with ``EXAMPLES`` per operation the 45 operations took
62 s to 170 s on a loaded two-core machine, each under 2.5 s. Child routes get the parent's own
child, so that the fuzz reaches the services behind the link check (foreign children are the
authorization matrix's).
"""
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from tests.abuse.conftest import API, BOARD_A, SCHOOL_A, client, link, new_email
from tests.gateway.stack import child_events, publish

EXAMPLES = 5

# The live stream stays open until the token runs out: it has its own tests.
schema = schemathesis.pytest.from_fixture("served_openapi").exclude(path="/events")


@pytest.fixture(scope="session")
def fuzzing_parent(portal, accounts, family):
    """A parent of their own (the fuzz may change preferences, end sessions, try links), with a
    child in the board the families' fixture registered."""
    parent = accounts(new_email("fuzz"), "127.0.0.6")
    parent.http = client("127.0.0.2")  # the fuzz's own budget of code requests
    publish(child_events(BOARD_A, SCHOOL_A, "1100009", "Alix", parent.email), portal.amqp_url)
    parent.child = link(portal, parent, BOARD_A, "1100009", "Alix")
    return parent


@pytest.fixture
def served_openapi(portal):
    return schemathesis.openapi.from_url(f"{portal.url}{API}/openapi.json")


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_refusal_is_a_json_error_with_a_code(case, portal, fuzzing_parent):
    if "student_id" in (case.path_parameters or {}):
        case.path_parameters["student_id"] = fuzzing_parent.child
    for _ in range(3):
        response = case.call(base_url=f"{portal.url}{API}", session=fuzzing_parent.http,
                             headers=fuzzing_parent.headers(), timeout=30)
        # A service that did not answer within the gateway's deadline (this machine is shared
        # and often loaded) is asked again, as the web client would; a 503 twice more fails.
        if response.status_code != 503:
            break
        time.sleep(1)
    described = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.300} -> {response.status_code}"
    assert response.status_code < 500, f"{described}: {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), described
        if case.method == "HEAD":  # an answer without a body, by definition
            return
        error = response.json()
        assert isinstance(error.get("code"), str) and error["code"] and error.get("message"), f"{described}: {error}"
