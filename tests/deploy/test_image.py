"""The image the manifests name, built here by the project's script (deploy/container/build-image.sh:
Debian packages through mmdebstrap, then buildah, pushed to the local docker-registry), runs as the
cluster runs it (user 10001, read-only root filesystem, no capabilities): a service's migration and
the service itself, and the gateway serving the web client, against the loopback servers.

Needs root, podman/buildah/mmdebstrap/docker-registry (scripts/setup.sh) and the local servers. The
base layer is cached (first build here: about 3 minutes; afterwards the code layer, seconds)."""
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.deploy.conftest import REPO
from tests.support import create_vhost, delete_vhost, user_url

SCRIPT = REPO / "deploy" / "container" / "build-image.sh"
ENV = {**os.environ, "CONTAINERS_CONF": str(REPO / "deploy" / "container" / "containers.conf")}
# As the Deployments' securityContext has it.
LIKE_THE_CLUSTER = ["--network=host", "--read-only", "--tmpfs=/tmp:size=64m", "--user=10001:10001",
                    "--cap-drop=ALL", "--security-opt=no-new-privileges", "--pull=never"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()
    except OSError:
        return 0, "", b""


def podman(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout)


def wait_for(check, what: str, container: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        state = podman("inspect", "-f", "{{.State.Running}}", container).stdout.strip()
        if state == "false":
            break
        time.sleep(0.5)
    logs = podman("logs", container).stdout + podman("logs", container).stderr
    pytest.fail(f"{what}: not after {timeout}s; its log:\n{logs[-3000:]}")


@pytest.fixture(scope="module")
def image():
    """Built and pushed by the script; the pinned reference it prints, pulled back by digest."""
    assert os.geteuid() == 0, "the image build needs root (mmdebstrap --mode=root, podman's storage)"
    started = time.monotonic()
    done = subprocess.run(["bash", str(SCRIPT), "test"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"build-image.sh failed:\n{done.stderr[-4000:]}"
    pinned = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"127\.0\.0\.1:5005/portail-parents/portal@sha256:[0-9a-f]{64}", pinned), pinned
    print(f"image built and pushed in {time.monotonic() - started:.0f} s: {pinned}")
    pulled = podman("pull", "--tls-verify=false", "--quiet", pinned)
    assert pulled.returncode == 0, pulled.stderr
    yield pinned
    podman("rmi", pinned)  # the copy pulled back; the build's own tag and the cached base stay


@pytest.fixture
def containers():
    names = []

    def run(name_hint: str, image: str, env: dict, *command: str, detach: bool = True):
        name = f"portal-test-{name_hint}-{uuid.uuid4().hex[:8]}"
        names.append(name)
        flags = [f"--env={k}={v}" for k, v in env.items()]
        args = ["run", "--name", name, *LIKE_THE_CLUSTER, *flags, image, *command]
        if detach:
            started = podman(*args[:1], "--detach", *args[1:])
            assert started.returncode == 0, started.stderr
            return name
        return podman(*args, timeout=300)

    yield run
    for name in names:
        podman("rm", "--force", "--time=5", name)


def test_the_image_is_non_root_with_the_web_client(image):
    config = podman("image", "inspect", "-f", "{{.Config.User}} {{.Config.WorkingDir}}", image)
    assert config.stdout.split() == ["10001:10001", "/app"]
    listing = podman("run", "--rm", *LIKE_THE_CLUSTER, image, "python", "-c",
                     "import os, pwd; print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name,"
                     " os.path.exists('/app/web/dist/index.html'), os.access('/app', os.W_OK))")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.split() == ["10001", "portal", "True", "False"]


@pytest.fixture
def own_vhost(portal_env):
    """A vhost of this test's own: the service declares its queues with its default settings, which
    other tests' processes on the session's vhost declare otherwise."""
    name = f"image-{uuid.uuid4().hex[:10]}"
    yield create_vhost(name)
    delete_vhost(name)


def test_a_service_and_the_gateway_run_from_the_image(image, containers, own_vhost, portal_env):
    from sqlalchemy import create_engine, text

    amqp_url = own_vhost
    database = f"image_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{portal_env['PORTAL_PG_URL_BASE']}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        db_env = {"PORTAL_DATABASE_URL": f"{portal_env['PORTAL_PG_URL_BASE']}/{database}"}
        migrated = containers("migrate", image, db_env, "python", "-m", "servicekit", "migrate", "linking",
                              detach=False)
        assert migrated.returncode == 0, migrated.stderr[-3000:]

        ops = free_port()
        # As in the cluster: each process its own broker user's URL; linking its PIN secret.
        service = containers("linking", image, {**db_env, "PORTAL_AMQP_URL": user_url(amqp_url, "linking"),
                                                "PORTAL_PIN_SECRET": portal_env["PORTAL_PIN_SECRET"],
                                                "PORTAL_OPS_PORT": ops, "PORTAL_OPS_HOST": "127.0.0.1"},
                             "python", "-m", "servicekit", "run", "linking")
        wait_for(lambda: get(f"http://127.0.0.1:{ops}/readyz")[0] == 200, "linking ready", service)
        assert b"portal_linking_" in get(f"http://127.0.0.1:{ops}/metrics")[2]

        port, ops = free_port(), free_port()
        gateway = containers("gateway", image, {"PORTAL_AMQP_URL": user_url(amqp_url, "gateway"),
                                                "PORTAL_GATEWAY_PORT": port,
                                                "PORTAL_GATEWAY_HOST": "127.0.0.1",
                                                "PORTAL_OPS_PORT": ops, "PORTAL_OPS_HOST": "127.0.0.1",
                                                "PORTAL_KEYCLOAK_URL": portal_env["PORTAL_KEYCLOAK_URL"]})
        wait_for(lambda: get(f"http://127.0.0.1:{ops}/healthz")[0] == 200, "gateway up", gateway)
        status, kind, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and kind.startswith("text/html"), (status, kind, page[:200])
        assets = re.findall(rb'(?:src|href)="(/assets/[^"]+\.js)"', page)
        assert assets, page[:500]
        status, kind, _ = get(f"http://127.0.0.1:{port}{assets[0].decode()}")
        assert status == 200 and "javascript" in kind
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
