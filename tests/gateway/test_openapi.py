"""The served document says what the server accepts and answers (the fuzz of the whole portal is
``tests/abuse/test_fuzz_conformance``); these hold the pieces without servers."""
import subprocess
import sys
from pathlib import Path

from werkzeug.test import Client

from contracts.fields import ID_PATTERN
from gateway.app import Gateway, Settings
from gateway.openapi import document
from gateway.routes import ROUTES
from tests.gateway.test_cannot_answer import MadeUpServices, SessionsLive, Verifier


def _client() -> Client:
    return Client(Gateway(Settings(amqp_url="amqp://unused", issuer="http://127.0.0.1/realms/portal"), Verifier(),
                          rpc=MadeUpServices({}), sessions=SessionsLive()))


def test_a_method_the_address_does_not_have_is_405_with_the_methods_it_has():
    response = _client().put("/api/v1/children", headers={"Authorization": "Bearer t"})
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_a_language_outside_the_two_is_refused_where_the_document_says_so():
    client = _client()
    refused = client.get("/api/v1/children?lang=de", headers={"Authorization": "Bearer t"})
    assert refused.status_code == 422 and refused.get_json()["field"] == "lang"
    assert client.get("/api/v1/children?lang=en", headers={"Authorization": "Bearer t"}).status_code == 200
    for item in document(ROUTES)["paths"].values():
        for operation in item.values():
            lang = next(p for p in operation["parameters"] if p["name"] == "lang")
            assert lang["schema"]["enum"] == ["fr", "en"] and "422" in operation["responses"]


def test_parameters_and_bodies_come_from_the_services_schemas():
    paths = document(ROUTES)["paths"]
    page = next(p for p in paths["/organisations"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000}
    account = paths["/accounts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert account["required"] == ["ticket", "password", "password_confirmation"]
    assert account["properties"]["ticket"] == {"type": "string", "minLength": 1, "maxLength": 100,
                                                    "pattern": "^[^\\u0000]*$"}
    inbox = next(p for p in paths["/inbox"]["get"]["parameters"] if p["name"] == "student_id")
    assert inbox["schema"] == {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN}
    assert "404" in paths["/me/sessions/{session_id}"]["delete"]["responses"]


def test_closing_and_downloading_everything_say_they_may_ask_for_a_recent_login():
    paths = document(ROUTES)["paths"]
    assert "403" in paths["/me/closure"]["post"]["responses"] and "403" in paths["/me/export"]["get"]["responses"]
    assert "403" not in paths["/me"]["get"]["responses"]


def test_the_document_reads_the_services_schemas_without_their_code():
    # A fresh interpreter: the gateway's /metrics must not show a service's counters, which
    # importing its service module registers.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from gateway.openapi import document; from gateway.routes import ROUTES;"
         " document(ROUTES); print(sorted(m for m in sys.modules if m.startswith('services.')))"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=True).stdout
    assert "services.linking.schemas" in loaded and ".service'" not in loaded
