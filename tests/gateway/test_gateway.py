"""The gateway against the real RabbitMQ, PostgreSQL, Keycloak and the services it calls."""
import http.client
import json
import time
from urllib.parse import urlparse

import pytest

from scripts.school_calendar import next_school_day
from services.attendance.service import AttendanceService
from services.linking.service import LinkingService
from tests.gateway.stack import absence, child_events, linked_family, parent_verified, publish, request, school_events
from tests.support import eventually, user_url

pytestmark = pytest.mark.school_clock

API = "/api/v1"
ORG, SCHOOL = "css-gw", "css-gw.ecole-a"
STUDENT = f"{ORG}.7654321"


@pytest.fixture
def family(start_service, served_gateway, keycloak_realm, amqp_url, rpc):
    """Linking and attendance running (grades, billing, notices down); parent A linked to one
    child through the real linking flow; parent B with no child."""
    start_service(LinkingService)
    start_service(AttendanceService)
    # A deadline a loaded test machine meets; the property tested is one deadline for all tiles.
    gateway = served_gateway(tile_deadline=1.0)
    token_a, token_b, _ = linked_family(gateway.url, keycloak_realm, amqp_url, ORG, SCHOOL, "7654321")
    return gateway, token_a, token_b


def test_errors_are_json_in_the_request_language_with_security_headers(served_gateway, keycloak_realm):
    gateway = served_gateway()
    status, headers, body = request(gateway.url, "GET", f"{API}/children")
    assert status == 401 and body == {"code": "token_missing", "message": "Veuillez vous connecter pour continuer.",
                                      "field": None}
    assert headers["WWW-Authenticate"].startswith("Bearer")
    _, _, english = request(gateway.url, "GET", f"{API}/children", headers={"Accept-Language": "en-CA,en;q=0.9"})
    assert english["message"] == "Please log in to continue."
    _, _, asked = request(gateway.url, "GET", f"{API}/children?lang=en")
    assert asked["message"] == "Please log in to continue."
    status, _, forged = request(gateway.url, "GET", f"{API}/children", token="eyJhbGciOiJub25lIn0.e30.x")
    assert status == 401 and forged["code"] == "token_invalid"
    status, _, missing = request(gateway.url, "GET", f"{API}/nothing-here")
    assert status == 404 and missing["code"] == "not_found"
    status, _, wrong = request(gateway.url, "DELETE", f"{API}/children")
    assert status == 405 and wrong["code"] == "method_not_allowed"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"


def test_serves_openapi_31_and_health_readiness_and_metrics_on_the_ops_port_alone(served_gateway, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>Portail</title>")
    gateway = served_gateway(web_dist=tmp_path)
    status, _, document = request(gateway.url, "GET", f"{API}/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"
    assert "/children/{student_id}/absences" in document["paths"]
    assert "/children/{student_id}/dashboard" in document["paths"]
    assert document["paths"]["/children/{student_id}/absences/declarations"]["post"]["responses"]["422"]
    for path in ("/healthz", "/readyz", "/metrics"):
        # Neither answered nor taken for one of the web client's pages on the public port.
        status, _, body = request(gateway.url, "GET", path)
        assert status == 404 and body["code"] == "not_found", path
    assert request(gateway.url, "GET", "/famille")[0] == 200  # a page of the client's own
    assert request(gateway.ops_url, "GET", "/healthz")[0] == 200
    status, _, ready = request(gateway.ops_url, "GET", "/readyz")
    assert status == 200 and ready["ready"] is True
    _, _, metrics = request(gateway.ops_url, "GET", "/metrics")
    text = metrics.decode()
    assert 'portal_gateway_requests_total{method="GET",route="/openapi.json",status="200"}' in text
    assert "portal_gateway_request_duration_seconds_bucket" in text and "portal_gateway_sse_streams" in text


def test_a_child_that_is_not_the_parents_is_not_found_like_one_that_does_not_exist(family):
    gateway, token_a, token_b = family
    status, _, children = request(gateway.url, "GET", f"{API}/children", token_a)
    assert status == 200 and [c["student_id"] for c in children] == [STUDENT]
    for path in ("absences", "dashboard", "record"):
        other = request(gateway.url, "GET", f"{API}/children/{STUDENT}/{path}", token_b)
        nobody = request(gateway.url, "GET", f"{API}/children/{ORG}.0000000/{path}", token_b)
        assert other[0] == nobody[0] == 404
        assert other[2] == nobody[2] and other[2]["code"] == "child_not_found"
    status, _, _ = request(gateway.url, "POST", f"{API}/children/{STUDENT}/absences/declarations", token_b,
                           {"start_date": next_school_day().isoformat(), "kind": "full_day", "reason_code": "MAL"})
    assert status == 404


def test_bad_input_is_a_4xx_with_the_field(family):
    gateway, token_a, _ = family
    status, _, body = request(gateway.url, "POST", f"{API}/children/{STUDENT}/absences/declarations", token_a,
                              {"start_date": "pas une date", "kind": "full_day", "reason_code": "MAL"})
    assert status == 422 and body["code"] == "invalid_date" and body["field"] == "start_date"
    assert body["message"] == "Entrez une date valide (AAAA-MM-JJ)."
    req = http.client.HTTPConnection(urlparse(gateway.url).netloc, timeout=10)
    req.request("POST", f"{API}/children/{STUDENT}/absences/declarations", body=b"{not json",
                headers={"Authorization": f"Bearer {token_a}", "Content-Type": "application/json"})
    answer = req.getresponse()
    assert answer.status == 400 and json.loads(answer.read())["code"] == "invalid_json"


def degraded(gateway, tile: str) -> float:
    """What ``/metrics`` says of the tile's degradations so far; the registry is the whole test
    process's, so a test compares it with its value before."""
    _, _, metrics = request(gateway.ops_url, "GET", "/metrics")
    for line in metrics.decode().splitlines():
        name, _, value = line.rpartition(" ")
        if name == f'portal_gateway_tile_degraded_total{{tile="{tile}"}}':
            return float(value)
    return 0.0


def test_dashboard_degrades_tile_by_tile_within_its_deadline(family):
    gateway, token_a, _ = family
    deadline = gateway.gateway.settings.tile_deadline
    counted = {tile: degraded(gateway, tile) for tile in ("results", "finances", "messages", "absences")}
    started = time.monotonic()
    status, _, dashboard = request(gateway.url, "GET", f"{API}/children/{STUDENT}/dashboard", token_a)
    elapsed = time.monotonic() - started
    assert status == 200
    tiles = dashboard["tiles"]
    assert list(tiles)[0] == "messages"  # shown first, as the guides do
    assert tiles["absences"]["status"] == "ok" and "absences" in tiles["absences"]["data"]
    assert tiles["record"]["status"] == "ok"
    # grades, billing and notices are not running: their tiles say so, the rest is served
    for down in ("results", "finances", "messages"):
        assert tiles[down] == {"status": "unavailable"}
    assert set(dashboard["stale"]) >= {"results", "finances", "messages"}
    assert "absences" not in dashboard["stale"]
    # one deadline for all tiles, not one per missing tile (five of them here: 5 × the deadline)
    assert elapsed < deadline * 4, elapsed
    assert {tile: degraded(gateway, tile) - before for tile, before in counted.items()} == {
        "results": 1, "finances": 1, "messages": 1, "absences": 0}


def test_a_school_recorded_absence_reaches_the_open_stream(family, amqp_url):
    gateway, token_a, token_b = family
    stream_a, stream_b = _open_stream(gateway.url, token_a), _open_stream(gateway.url, token_b)
    event = absence(STUDENT, SCHOOL)
    publish([event], amqp_url)
    received = _next_event(stream_a, "AbsenceRecorded", timeout=10)  # its latency is measured in bench/
    assert received["id"] == event.id and received["student_id"] == STUDENT
    assert received["data"]["absence_id"] == event.data["absence_id"]
    with pytest.raises(TimeoutError):  # the other parent hears nothing of a child not theirs
        _next_event(stream_b, "AbsenceRecorded", timeout=1)
    # ... and the page that refreshes its tile finds the absence
    eventually(lambda: any(a["absence_id"] == event.data["absence_id"] for a in request(
        gateway.url, "GET", f"{API}/children/{STUDENT}/absences", token_a)[2]["absences"]))


def test_the_live_feed_believes_only_the_board_that_owns_the_child(family, amqp_url):
    import amqp
    from kombu import Connection

    import contracts

    gateway, token_a, _ = family
    stream = _open_stream(gateway.url, token_a)
    forged, genuine = absence(STUDENT, SCHOOL), absence(STUDENT, SCHOOL)
    # Another board's school system announces an absence of this child: the page must not hear it.
    with Connection(user_url(amqp_url, "sis.css-gw-other")) as connection:
        exchange, routing_key, properties = contracts.message_properties(forged, "sis.css-gw-other")
        headers = properties.pop("headers")
        connection.default_channel.basic_publish(
            amqp.Message(forged.to_json(), application_headers=headers, **properties), exchange, routing_key)
    publish([genuine], amqp_url)  # then the child's own board: what the page hears first
    assert _next_event(stream, "AbsenceRecorded", timeout=10)["id"] == genuine.id


def _open_stream(base: str, token: str):
    connection = http.client.HTTPConnection(urlparse(base).netloc, timeout=10)
    connection.request("GET", f"{API}/events", headers={"Authorization": f"Bearer {token}",
                                                         "Accept": "text/event-stream"})
    response = connection.getresponse()
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    return response


def _next_event(response, event_type: str, timeout: float) -> dict:
    """The data of the next event of ``event_type`` on the stream; TimeoutError if none."""
    deadline = time.monotonic() + timeout
    response.fp.raw._sock.settimeout(timeout)
    name = None
    while time.monotonic() < deadline:
        try:
            line = response.fp.readline()
        except OSError:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name == event_type:
            return json.loads(line[6:])
    raise TimeoutError(event_type)
