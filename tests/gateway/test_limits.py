"""What one client may cost the gateway: a body no longer than its route needs, refused before it
is read; a few open streams per parent; a link cache of bounded size. No servers: the services'
answers are made up (``test_cannot_answer``)."""
import socket

import eventlet
import eventlet.wsgi
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Response

from gateway import dashboard as compositions, stream
from gateway.app import Gateway, Settings
from gateway.links import LinkCache
from gateway.live import MAX_STREAMS_PER_PARENT
from gateway.routes import MAX_BODY, MAX_JUSTIFICATION_BODY
from services.attendance.agenda import MAX_DOCUMENT_BYTES
from tests.gateway.test_cannot_answer import MadeUpServices, SessionsLive
from tests.support import eventually

STUDENT = "css-x.1234567"


class TokenIsParent:
    """Each token stands for the parent it names."""

    def verify(self, token):
        return {"sub": token, "exp": 4_000_000_000}


class Unread:
    """A body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = readlines = read


def _gateway() -> Gateway:
    return Gateway(Settings(amqp_url="amqp://unused", issuer="http://127.0.0.1/realms/portal"), TokenIsParent(),
                   rpc=MadeUpServices({}), sessions=SessionsLive())


def _client() -> Client:
    return Client(_gateway())


def _post(client: Client, path: str, length: int, language: str = "fr", body=None):
    """A POST announcing ``length`` bytes; the body itself refuses to be read unless given."""
    headers = {"Authorization": "Bearer parent-1", "Accept-Language": language,
               "Content-Type": "application/json"}
    if body is not None:
        return client.post(f"/api/v1{path}", headers=headers, data=body)
    environ = EnvironBuilder(f"/api/v1{path}", method="POST", headers=headers).get_environ()
    environ.update({"wsgi.input": Unread(), "CONTENT_LENGTH": str(length)})
    return Response.from_app(client.application, environ, buffered=True)


def test_an_oversized_body_is_refused_unread_with_413_in_french_and_english():
    client = _client()
    for path in ("/accounts/codes", "/passwords", "/children", f"/children/{STUDENT}/absences/declarations",
                 "/me/email-claims"):  # unauthenticated routes too
        response = _post(client, path, MAX_BODY + 1)
        assert response.status_code == 413, (path, response.get_json())
        assert response.get_json() == {
            "code": "request_too_large", "field": None,
            "message": "Cette demande est trop volumineuse pour être reçue. "
                       "Pour un document justificatif, joignez un fichier plus petit."}
    english = _post(client, "/accounts/codes", 10**12, language="en").get_json()
    assert english["message"].startswith("This request is too large to be received.")
    # A route without a body of its own is held to the same limit.
    assert _post(client, "/children", 10**9).status_code == 413


def test_a_justification_carries_the_largest_document_and_no_more():
    client = _client()
    path = f"/children/{STUDENT}/absences/abs-1/justification"
    largest = (MAX_DOCUMENT_BYTES // 3 + 1) * 4
    body = ('{"reason_code":"maladie","explanation":"Grippe","document":{"content_type":"application/pdf",'
            f'"content_base64":"{"A" * largest}"}}}}').encode()
    assert len(body) <= MAX_JUSTIFICATION_BODY
    answered = _post(client, path, len(body), body=body)
    assert answered.status_code == 200 and answered.get_json() == {"answered": "justify_absence"}
    assert _post(client, path, MAX_JUSTIFICATION_BODY + 1).status_code == 413
    # The document's allowance is this route's alone.
    assert _post(client, f"/children/{STUDENT}/absences/declarations", len(body)).status_code == 413


def _stream(client: Client, parent: str, language: str = "fr"):
    return client.get("/api/v1/events", headers={"Authorization": f"Bearer {parent}", "Accept-Language": language},
                      buffered=False)


def test_a_parents_seventh_stream_is_refused_and_a_closed_one_frees_its_place():
    client = _client()
    assert MAX_STREAMS_PER_PARENT == 6
    streams = [_stream(client, "parent-1") for _ in range(MAX_STREAMS_PER_PARENT)]
    assert [s.status_code for s in streams] == [200] * MAX_STREAMS_PER_PARENT
    seventh = _stream(client, "parent-1")
    assert seventh.status_code == 429 and seventh.get_json()["code"] == "too_many_streams"
    assert seventh.get_json()["message"].startswith("Trop de pages du portail sont ouvertes")
    assert _stream(client, "parent-1", "en").get_json()["message"].startswith("Too many portal pages")
    other = _stream(client, "parent-2")  # another parent is not counted with the first
    assert other.status_code == 200
    streams.pop().close()
    again = _stream(client, "parent-1")
    assert again.status_code == 200
    for response in streams + [other, again]:
        response.close()
    assert _stream(client, "parent-1").status_code == 200


def test_a_page_that_went_away_frees_its_stream_at_the_next_keep_alive(monkeypatch):
    """Over a real connection: a page closed without a word is noticed when its keep-alive
    cannot be written, and its place is free again."""
    monkeypatch.setattr(stream, "SSE_KEEPALIVE", 0.1)
    listener = eventlet.listen(("127.0.0.1", 0))
    server = eventlet.spawn(eventlet.wsgi.server, listener, _gateway(), log_output=False)
    opened = []

    def stream_status() -> int:
        connection = socket.create_connection(listener.getsockname(), timeout=5)
        opened.append(connection)
        connection.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: portal\r\nAuthorization: Bearer parent-1\r\n\r\n")
        return int(connection.recv(4096).split(b" ", 2)[1])

    try:
        assert [stream_status() for _ in range(MAX_STREAMS_PER_PARENT + 1)] == [200] * MAX_STREAMS_PER_PARENT + [429]
        opened[0].close()  # the page went away
        eventually(lambda: stream_status() == 200, timeout=5, interval=0.2)
    finally:
        for connection in opened:
            connection.close()
        server.kill()
        listener.close()


class CountedLinking:
    def __init__(self):
        self.calls = 0

    def call(self, service, method, *args, **kwargs):
        self.calls += 1
        return True if method == "is_linked" else []


def test_the_link_cache_holds_a_bounded_number_of_answers_per_parent_and_in_all():
    linking = CountedLinking()
    cache = LinkCache(linking, parents=100, children_per_parent=8)
    cache.is_linked("parent-0", "mine")
    for number in range(1000):  # one parent asking about ids that are not their children's
        cache.is_linked("parent-1", f"css-x.{number}")
    assert len(cache) == 1 + 8
    for parent in range(2, 1002):
        cache.is_linked(f"parent-{parent}", "child")
        cache.children(f"parent-{parent}")
    assert len(cache) == 100 + 100
    # The least recently used go first: the last parents' answers are still kept.
    calls = linking.calls
    cache.is_linked("parent-1001", "child")
    cache.children("parent-1001")
    assert linking.calls == calls
    cache.is_linked("parent-0", "mine")
    assert linking.calls == calls + 1


def test_a_recently_used_answer_outlives_newer_ones_until_the_cache_is_full():
    linking = CountedLinking()
    cache = LinkCache(linking, parents=3, children_per_parent=2)
    cache.is_linked("parent-1", "a")
    cache.is_linked("parent-1", "b")
    cache.is_linked("parent-1", "a")  # used again: "b" is now the oldest
    cache.is_linked("parent-1", "c")
    calls = linking.calls
    cache.is_linked("parent-1", "a")
    assert linking.calls == calls
    cache.is_linked("parent-1", "b")
    assert linking.calls == calls + 1


def test_the_last_good_tiles_kept_for_a_failing_service_are_bounded(monkeypatch):
    monkeypatch.setattr(compositions, "STALE_KEPT_PARENTS", 3)
    monkeypatch.setattr(compositions, "STALE_KEPT_PER_PARENT", 20)
    gateway = _gateway()
    client = Client(gateway)

    def dashboard(parent: str, student: str) -> None:
        response = client.get(f"/api/v1/children/{student}/dashboard", headers={"Authorization": f"Bearer {parent}"})
        assert response.status_code == 200

    for number in range(10):  # nine tiles a child
        dashboard("parent-1", f"css-x.{number}")
    assert len(gateway.compositions.last_good.get("parent-1")) == 20
    for parent in range(2, 12):
        dashboard(f"parent-{parent}", STUDENT)
    assert len(gateway.compositions.last_good) == 3
