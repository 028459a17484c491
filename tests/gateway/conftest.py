"""The gateway against the real servers: its own Keycloak realm, the session's vhost and
databases, and the services that answer it."""
import pytest

from servicekit.tokens import TokenVerifier
from tests.conftest import SESSION
from tests.gateway.stack import KeycloakRealm, ServedGateway, free_port


@pytest.fixture(scope="session")
def gateway_port():
    return free_port()


@pytest.fixture(scope="session")
def keycloak_realm(portal_env, gateway_port):
    realm = KeycloakRealm(f"{SESSION}-gateway", f"http://127.0.0.1:{gateway_port}")
    yield realm
    realm.delete()


@pytest.fixture
def served_gateway(amqp_url, keycloak_realm, gateway_port):
    """``served_gateway(**settings)``: the gateway on its port, started and ready."""
    from gateway.app import Gateway, Settings

    running = []

    def serve(**overrides):
        settings = Settings(amqp_url=amqp_url, issuer=keycloak_realm.issuer, **overrides)
        served = ServedGateway(Gateway(settings, TokenVerifier(settings.issuer, settings.audience)), gateway_port)
        running.append(served)
        return served

    yield serve
    for served in running:
        served.stop()
