"""Law 25's entrypoints, the same in every service that keeps an access log, mixed into its class
(``class AttendanceService(Privacy)``): the school's list of who read a child's data, and the
retention job: the reads past their board's retention, and what the service forgets beyond them
(``retire``: linking forgets the students withdrawn longer than ``withdrawn_retention()`` school
years, and every service forgets them on its ``StudentForgotten``).

``readers`` answers the service's own broker user alone (``rpc.OWN_SERVICE``): the school's staff
tooling calls it with the service's credentials, as the dead-letter tooling does;
``python -m servicekit access-log`` reads the same list from the database. ``retention`` runs
every ``RETENTION_SECONDS`` in each replica; it only deletes what has aged out, so two replicas
or a run after a missed one do no harm.
"""
from __future__ import annotations

import functools
import importlib
import os
import time

from nameko.timer import timer
from prometheus_client import Counter, Gauge

from . import errors, schooltime
from .children import Children, StudentSchema, retention_days
from .rpc import OWN_SERVICE, rpc

RETENTION_SECONDS = 3600
WITHDRAWN_RETENTION = "PORTAL_WITHDRAWN_RETENTION_SCHOOL_YEARS"
DEFAULT_WITHDRAWN_SCHOOL_YEARS = 2


class RetentionMetrics:
    def __init__(self, service: str):
        p = f"portal_{service}_retention"
        self.removed = Counter(f"{p}_removed_total", "What the retention job removed, by kind.", ["kind"])
        self.last_success = Gauge(f"{p}_last_success_timestamp_seconds", "When the retention job last completed.")


@functools.cache
def retention_metrics(service: str) -> RetentionMetrics:
    return RetentionMetrics(service)


def children_of(service: str) -> Children:
    """The service's ``Children`` (its links and access log), which its projections declare."""
    return importlib.import_module(f"services.{service}.projections").children


def withdrawn_retention() -> int:
    """The whole school years a withdrawn student's record is kept after the year they left."""
    value = os.environ.get(WITHDRAWN_RETENTION, "").strip() or str(DEFAULT_WITHDRAWN_SCHOOL_YEARS)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{WITHDRAWN_RETENTION}: {value!r} is not a whole number of school years")
    return int(value)


def retention(service: str, conn) -> dict[str, int]:
    """One run of the service's retention, in the caller's transaction: the reads older than
    their board's retention deleted. What it removed, by kind."""
    return {"access_log_rows": children_of(service).expire(conn, schooltime.school_now(), retention_days())}


class Privacy:
    """Mixed into a service class that has ``name`` and ``db``."""

    @rpc(callers=(OWN_SERVICE,))
    def readers(self, student_id):
        """Who read the child's data, what and when (``Children.readers``), for the school."""
        request = errors.load(StudentSchema(), {"student_id": student_id})
        with self.db.begin() as conn:
            return children_of(self.name).readers(conn, request["student_id"])

    # Eager: at start too, so that a process restarted more often than hourly still runs it and
    # its last success is set from the first minutes.
    @timer(interval=RETENTION_SECONDS, eager=True)
    def retention(self):
        with self.db.begin() as conn:
            removed = {**retention(self.name, conn), **self.retire(conn)}
        metrics = retention_metrics(self.name)
        for kind, count in removed.items():
            metrics.removed.labels(kind).inc(count)
        metrics.last_success.set(time.time())
        return removed

    def retire(self, conn) -> dict[str, int]:
        """What the service forgets on its own beyond its access log, by kind: nothing unless it
        says otherwise."""
        return {}
