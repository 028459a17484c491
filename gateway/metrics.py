"""The gateway's Prometheus metrics, registered once per process."""
from __future__ import annotations

import functools

from prometheus_client import Counter, Gauge, Histogram

from servicekit.ops import LATENCY_BUCKETS


class Metrics:
    def __init__(self):
        self.requests = Counter("portal_gateway_requests_total", "HTTP requests by route, method and status.",
                                ["route", "method", "status"])
        self.request_duration = Histogram("portal_gateway_request_duration_seconds",
                                          "HTTP request duration (an event stream: until it opened).", ["route"],
                                          buckets=LATENCY_BUCKETS)
        self.sse_streams = Gauge("portal_gateway_sse_streams", "Open server-sent event streams.")
        self.tile_degraded = Counter("portal_gateway_tile_degraded_total",
                                     "Dashboard tiles served stale or unavailable.", ["tile"])


@functools.cache
def metrics() -> Metrics:
    return Metrics()


metrics()  # registered on import, so that /metrics and the dashboards' check see them before any request
