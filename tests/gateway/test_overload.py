"""Past what it can serve, the gateway refuses at once (503 ``overloaded`` with Retry-After, in the
parent's language) rather than letting requests queue until they time out; the turn comes back
when a request ends, and an open live stream takes none."""
import http.client
import uuid

import eventlet
from eventlet.event import Event

from gateway.app import Gateway, Settings
from gateway.rpc import RpcClient
from services.linking.service import LinkingService
from servicekit.tokens import TokenVerifier
from tests.gateway.stack import ServedGateway, free_port, request

API = "/api/v1"


class HeldRpc(RpcClient):
    """The real client, whose search of organisations waits until the test lets it go on."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered, self.go_on = Event(), Event()

    def call(self, service: str, method: str, *args, **kwargs):
        if method == "organisations":
            self.entered.send()
            self.go_on.wait()
        return super().call(service, method, *args, **kwargs)


def test_past_its_turns_the_gateway_refuses_at_once_and_serves_again_after(start_service, amqp_url, keycloak_realm,
                                                                           tmp_path):
    start_service(LinkingService)
    (tmp_path / "index.html").write_text("<!doctype html><title>Portail</title>")
    settings = Settings(amqp_url=amqp_url, issuer=keycloak_realm.issuer, web_dist=tmp_path, concurrency=1,
                        queue_wait=0.05)
    rpc = HeldRpc(amqp_url)
    gateway = ServedGateway(Gateway(settings, TokenVerifier(settings.issuer, settings.audience), rpc=rpc),
                            free_port())
    try:
        # A live stream stays open and takes no turn.
        email = f"surcharge.{uuid.uuid4().hex[:8]}@example.org"
        keycloak_realm.add_parent(email)
        stream = http.client.HTTPConnection("127.0.0.1", int(gateway.url.rsplit(":", 1)[1]), timeout=20)
        token = keycloak_realm.token(email)
        stream.request("GET", f"{API}/events", headers={"Authorization": f"Bearer {token}"})
        assert stream.getresponse().status == 200
        assert request(gateway.url, "GET", f"{API}/config")[0] == 200

        # The one turn is taken by a request that waits on its service.
        holder = eventlet.spawn(request, gateway.url, "GET", f"{API}/organisations?query=centre", token)
        with eventlet.Timeout(15, AssertionError(f"the search never reached its service: {holder}")):
            rpc.entered.wait()
        status, headers, body = request(gateway.url, "GET", f"{API}/config")
        _, _, english = request(gateway.url, "GET", f"{API}/openapi.json", headers={"Accept-Language": "en"})
        page = request(gateway.url, "GET", "/famille")
        # Refused while the turn is still held: the refusal did not wait for it.
        assert not holder.dead
        assert status == 503 and headers["Retry-After"] == "2"
        assert body["code"] == "overloaded" and body["message"] == (
            "Beaucoup de parents consultent le portail en ce moment. Réessayez dans quelques secondes.")
        assert english["message"] == "Many parents are using the portal right now. Try again in a few seconds."
        assert page[0] == 200, "the web client's files take no turn: the page can say to wait"

        rpc.go_on.send()
        assert holder.wait()[0] == 200
        assert request(gateway.url, "GET", f"{API}/config")[0] == 200
        stream.close()
    finally:
        gateway.stop()
