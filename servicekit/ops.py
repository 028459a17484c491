"""Operations: Prometheus metrics, ``/metrics``, ``/healthz`` and ``/readyz``, and RED for every
entrypoint.

The three paths are served by a small WSGI server of their own, outside nameko's worker pool, so
that a probe still answers when every worker is busy; the gateway serves the same application
(``ops_app``) on a port apart from its public one.
"""
from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable

import eventlet
import eventlet.wsgi
from nameko.extensions import DependencyProvider
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from . import logs, schooltime
from . import rpc  # noqa: F401  (services answer RPC with domain errors)
from .errors import DomainError

log = logging.getLogger(__name__)

PATHS = ("/metrics", "/healthz", "/readyz")
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """Every metric a service exports, named ``portal_<service>_<what>_<unit>``."""

    def __init__(self, service: str):
        p = f"portal_{service}"
        self.requests = Counter(f"{p}_requests_total", "Entrypoint calls by outcome.", ["entrypoint", "outcome"])
        self.request_duration = Histogram(
            f"{p}_request_duration_seconds", "Entrypoint call duration.", ["entrypoint"], buckets=LATENCY_BUCKETS)
        self.events_handled = Counter(
            f"{p}_events_handled_total", "Events taken in, by outcome.", ["source", "type", "outcome"])
        self.event_handling = Histogram(
            f"{p}_event_handling_duration_seconds", "Time to apply one batch of events.", ["source"],
            buckets=LATENCY_BUCKETS)
        self.consumer_lag = Gauge(
            f"{p}_consumer_lag_seconds", "Age of the newest event applied, when it was applied.", ["source"])
        self.queue_depth = Gauge(f"{p}_queue_depth_messages", "Messages waiting in the service's queues.", ["queue"])
        self.dead_letters = Counter(f"{p}_dead_letters_total", "Events dead-lettered, by reason.", ["source", "reason"])
        self.dead_letter_depth = Gauge(f"{p}_dead_letter_queue_messages", "Messages in the dead-letter queue.")
        self.outbox_backlog = Gauge(f"{p}_outbox_backlog_events", "Own events not yet published by the relay.")
        self.relay_published = Counter(f"{p}_relay_published_total", "Own events published by the relay.")


@functools.cache
def metrics_for(service: str) -> Metrics:
    # One registration per process, however many containers a test starts.
    return Metrics(service)


class WorkerOps:
    """What a worker gets as ``self.ops``: the metrics, and the correlation id that its events
    and log lines carry (the caller's, or this call's own id when it starts a chain)."""

    def __init__(self, metrics: Metrics, correlation_id: str):
        self.metrics = metrics
        self.correlation_id = correlation_id


def _outcome(exc_info) -> str:
    if exc_info is None:
        return "ok"
    return "client_error" if isinstance(exc_info[1], DomainError) else "error"


class Operations(DependencyProvider):
    """Serves the ops paths and records RED metrics of every worker of the service."""

    def setup(self):
        self.service = self.container.service_name
        self.metrics = metrics_for(self.service)
        self.host = self.container.config.get("OPS_HOST", "127.0.0.1")
        self.port = int(self.container.config.get("OPS_PORT", 0))
        self._app = ops_app(self.service, self.readiness_problems)
        self._started: dict = {}

    def start(self):
        self._socket = eventlet.listen((self.host, self.port))
        self.port = self._socket.getsockname()[1]
        self._server = self.container.spawn_managed_thread(self._serve, identifier="ops-http")

    def stop(self):
        self._server.kill()
        self._socket.close()

    def _serve(self):
        eventlet.wsgi.server(self._socket, self._app, log_output=False, debug=False)

    def readiness_problems(self) -> list[str]:
        """What keeps the process from serving: each extension that can tell says so."""
        problems = []
        for extension in self.container.extensions:
            check = getattr(extension, "check_ready", None)
            if check is not None:
                problem = check()
                if problem:
                    problems.append(problem)
        return problems

    def get_dependency(self, worker_ctx):
        return WorkerOps(self.metrics, worker_ctx.data.get("correlation_id") or worker_ctx.call_id)

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()
        logs.current.correlation_id = worker_ctx.data.get("correlation_id") or worker_ctx.call_id

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        name = worker_ctx.entrypoint.method_name
        self.metrics.requests.labels(name, _outcome(exc_info)).inc()
        if started is not None:
            self.metrics.request_duration.labels(name).observe(time.perf_counter() - started)
        if exc_info is not None and not isinstance(exc_info[1], DomainError):
            log.error("%s failed", name, exc_info=exc_info)
        logs.current.correlation_id = None


def ops_app(process: str, readiness_problems: Callable[[], list[str]]):
    """The WSGI application of an ops port: metrics, liveness, and readiness as the process's
    ``readiness_problems`` tell it."""
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(REGISTRY)]
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "alive", "service": process})
        if path == "/readyz":
            problems = readiness_problems()
            status = "503 Service Unavailable" if problems else "200 OK"
            return _json(start_response, status, {"ready": not problems, "problems": problems,
                                                  **schooltime.readiness_note()})
        return _json(start_response, "404 Not Found", {"code": "not_found"})

    return app


def _json(start_response, status: str, body: dict):
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
