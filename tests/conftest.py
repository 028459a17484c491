"""The top of the test suite: green threads first, then the real servers.

nameko's code hangs under plain pytest unless eventlet has patched the standard library before
anything else imports it; servicekit sets psycopg's wait function before psycopg loads.

The suite runs with the test settings on, so that ``PORTAL_SCHOOL_DAY`` may set the school
clock's day for this process and every process it starts (``make test`` runs the tests marked
``school_clock`` again on a school day, a day without school and a summer day).
"""
import os

os.environ["PORTAL_TEST_SETTINGS"] = "1"
# The key of the access log's pseudonyms (servicekit.children), the tests' own unless given.
os.environ.setdefault("PORTAL_ACCESS_LOG_SECRET", "test-access-log-secret")

from servicekit.green import patch  # noqa: E402

patch()

import pytest  # noqa: E402

from servicekit import schooltime  # noqa: E402
from tests.support import SESSION, create_vhost, delete_vhost, service_config, wait_ready  # noqa: E402


def pytest_report_header(config):
    day = schooltime.set_day()
    return f"school clock: {day.isoformat() + ' (set)' if day else 'the real date'}, today {schooltime.school_today()}"


@pytest.fixture(scope="session")
def portal_env():
    """The local servers, started by the same script a developer runs, and their settings."""
    from tests import local_env

    local_env.load()
    return os.environ


@pytest.fixture(scope="module")
def amqp_url(portal_env, request):
    """A RabbitMQ vhost of this test module's own, removed after it: on one vhost for the whole
    session, a service started late would first take in, from its durable queues, all that earlier
    modules had published while it was not running."""
    name = f"{SESSION}.{request.module.__name__}"
    yield create_vhost(name)
    delete_vhost(name)


@pytest.fixture(scope="session")
def database_url(portal_env):
    """``database_url(service)``: a migrated database of this session's own for ``service``."""
    from sqlalchemy import create_engine, text

    from servicekit import migrations

    made = {}

    def make(service: str, instance: str = "") -> str:
        """``instance`` names a second, separate copy (e.g. a whole portal running as processes)."""
        name = f"{SESSION}_{instance}_{service}" if instance else f"{SESSION}_{service}"
        if name not in made:
            made[name] = f"{os.environ['PORTAL_PG_URL_BASE']}/{name}"
            migrations.upgrade(service, made[name])
        return made[name]

    yield make
    admin = create_engine(f"{os.environ['PORTAL_PG_URL_BASE']}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for url in made.values():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine_of(database_url):
    """``engine_of(service)``: an engine on the session's database of ``service``, disposed after
    the test."""
    from sqlalchemy import create_engine

    made = []

    def make(service: str):
        made.append(create_engine(database_url(service)))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def start_service(amqp_url, database_url):
    """``start_service(ServiceClass, **config)``: a running nameko container of the service on
    the session's vhost and database, ready (consuming, relaying) when returned."""
    from nameko.containers import ServiceContainer

    started = []

    def start(service_class, **overrides):
        config = service_config(service_class.name, amqp_url, database_url(service_class.name), **overrides)
        container = ServiceContainer(service_class, config)
        container.start()
        started.append(container)
        wait_ready(container)
        return container

    yield start
    for container in reversed(started):
        container.stop()


@pytest.fixture
def rpc(amqp_url):
    """``rpc.<service>.<method>(...)`` against the running services, called as the gateway calls
    them (in its name: the services answer no one else for a parent)."""
    from gateway.rpc import RpcClient

    class Services:
        def __getattr__(self, service: str):
            return client.service(service)

    client = RpcClient(amqp_url, timeout=20)
    client.start()
    yield Services()
    client.stop()
