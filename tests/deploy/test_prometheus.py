"""A real Prometheus scrapes the portal's services running as they run in production
(`python -m servicekit run <service>`), loads the alert rules, and sees each service's RED
metrics, consumer lag and outbox backlog, moving when events flow."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

import pytest
import yaml

from contracts import EVENTS, parse
from contracts.publish import EXAMPLES, PublishError
from tests.deploy.conftest import REPO, K8S
from tests.support import publish, stop_processes

SERVICES = sorted(p.parent.name for p in (REPO / "services").glob("*/service.py"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def wait_until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not after {timeout}s")


@pytest.fixture(scope="module")
def running_services(amqp_url, database_url, tmp_path_factory):
    """Each service of the repository as its own process, like a container runs it."""
    assert SERVICES, "no services/*/service.py in the repository"
    logs = tmp_path_factory.mktemp("service-logs")
    processes, ports = {}, {}
    try:
        for svc in SERVICES:
            ports[svc] = free_port()
            env = {**os.environ, "PORTAL_AMQP_URL": amqp_url, "PORTAL_DATABASE_URL": database_url(svc),
                   "PORTAL_OPS_PORT": str(ports[svc]), "PORTAL_OPS_HOST": "127.0.0.1",
                   "PORTAL_RETRY_DELAYS": "0.2,0.5"}
            processes[svc] = subprocess.Popen(
                [sys.executable, "-m", "servicekit", "run", svc], cwd=REPO, env=env,
                stdout=open(logs / f"{svc}.log", "wb"), stderr=subprocess.STDOUT)
        for svc in SERVICES:
            wait_until(lambda: processes[svc].poll() is None and get(f"http://127.0.0.1:{ports[svc]}/readyz")[0] == 200,
                       f"{svc} ready (log: {logs / f'{svc}.log'})")
        yield {"ports": ports, "processes": processes, "logs": logs}
    finally:
        stop_processes(*processes.values())


@pytest.fixture(scope="module")
def prometheus(running_services, tmp_path_factory):
    """Debian's Prometheus, scraping every second, with the portal's alert rules loaded."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: apt-get install prometheus"
    work = tmp_path_factory.mktemp("prometheus")
    rules = yaml.safe_load((K8S / "base" / "monitoring" / "alerts.yaml").read_text())["spec"]
    (work / "alerts.rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.rules.yaml"],
        "scrape_configs": [{"job_name": f"portal-{svc}", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                           for svc, port in running_services["ports"].items()],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        cwd=work, stdout=open(work / "prometheus.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(f"{url}/-/ready")[0] == 200, "prometheus ready")
        yield url
    finally:
        stop_processes(process)


def query(prometheus: str, expr: str) -> list[dict]:
    status, body = get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", answer
    return answer["data"]["result"]


def total(prometheus: str, expr: str) -> float:
    return sum(float(r["value"][1]) for r in query(prometheus, expr))


def publish_examples(amqp_url: str, services: list[str]) -> int:
    """Every published example event that one of the running services consumes, each with a new id."""
    events = []
    for path in sorted(EXAMPLES.glob("*.json")):
        body = json.loads(path.read_text())
        if set(EVENTS[body["type"]].consumers) & set(services):
            events.append(parse({**body, "id": str(uuid.uuid4())}))
    try:
        publish(events, amqp_url)
    except PublishError as error:
        assert not error.result.nacked, error
    return len(events)


def test_prometheus_scrapes_every_service_and_loads_the_alerts(prometheus, running_services):
    def all_up():
        targets = json.loads(get(f"{prometheus}/api/v1/targets")[1])["data"]["activeTargets"]
        return {t["labels"]["job"] for t in targets if t["health"] == "up"} == {f"portal-{s}" for s in SERVICES}
    wait_until(all_up, "every service scraped")
    groups = json.loads(get(f"{prometheus}/api/v1/rules")[1])["data"]["groups"]
    assert {r["name"] for g in groups for r in g["rules"]} >= {"PortalServiceDown", "PortalConsumerLagging",
                                                             "PortalOutboxBacklog", "PortalDeadLettersGrowing"}


def test_red_metrics_lag_and_backlog_move_when_events_flow(prometheus, running_services, amqp_url):
    for svc in SERVICES:
        wait_until(lambda: query(prometheus, f"portal_{svc}_outbox_backlog_events"), f"{svc} outbox backlog scraped")
    before = {svc: total(prometheus, f"portal_{svc}_events_handled_total") for svc in SERVICES}
    assert publish_examples(amqp_url, SERVICES) > 0

    # identity takes in no event (it only emits): its flow is its relay's, checked by the backlog above.
    consumers = [svc for svc in SERVICES if any(svc in spec.consumers for spec in EVENTS.values())]
    assert consumers
    for svc in consumers:
        log = running_services["logs"] / f"{svc}.log"
        wait_until(lambda: total(prometheus, f"portal_{svc}_events_handled_total") > before[svc],
                   f"{svc}: events handled counted (log: {log})")
        assert running_services["processes"][svc].poll() is None, f"{svc} exited (log: {log})"
        wait_until(lambda: query(prometheus, f"portal_{svc}_consumer_lag_seconds"), f"{svc}: consumer lag")
        wait_until(lambda: query(prometheus, f"portal_{svc}_requests_total"), f"{svc}: RED requests")
        wait_until(lambda: query(prometheus, f"portal_{svc}_request_duration_seconds_count"), f"{svc}: RED duration")
        assert query(prometheus, f"portal_{svc}_outbox_backlog_events")
        # The alert expressions find the series they are written for.
        assert query(prometheus, f'max by (job) ({{__name__=~"portal_[a-z]+_consumer_lag_seconds", job="portal-{svc}"}})')
