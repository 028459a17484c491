"""Cluster fault 2: the PostgreSQL primary stopped in the middle of a school's burst, and its
streaming replica promoted by the test, as the operator would. The services' URL names both
hosts with target_session_attrs=read-write: they find the new primary on their own, without a
restart, and every event the broker had, none acknowledged before its transaction committed, is
applied exactly once.

The primary is stopped (a fast shutdown, which sends the replica all it wrote), not killed:
replication is asynchronous, so a crash of the primary may lose what it committed in its last
instants; synchronous replication would close that gap at the cost of every commit's latency."""
import os
import subprocess
import time
import uuid

import pytest

from tests.faults.support import (
    School, absence_rows, absences, count_effects, effects, projection_tally, report, stop_counting_effects, within,
)
from tests.support import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]

# The failover, not the volume, is under test (the broker's test carries 20,000): a burst long
# enough to be stopped in its middle on a loaded machine of two cores.
BURST = 6_000
PG_BIN = "/usr/lib/postgresql/15/bin"


def pg_ctl(*arguments: str) -> None:
    """pg_ctl as the owner of the data (postgres when we are root), as scripts/cluster.sh runs it."""
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*as_owner, f"{PG_BIN}/pg_ctl", *arguments], cwd="/", check=True, timeout=120,
                   capture_output=True)


def test_the_primary_stopped_mid_burst_and_the_replica_promoted_nothing_acknowledged_is_lost(cluster):
    tag = f"failover-{uuid.uuid4().hex[:6]}"
    database_url = cluster.database_url("attendance")
    primary_data, replica_data = cluster.env["PORTAL_CLUSTER_PG_DATA_DIRS"].split()
    count_effects(database_url)
    try:
        pids = {name: cluster.pid(name) for name in ("attendance-a", "attendance-b")}
        burst = absences(BURST, tag)
        school = School(burst, cluster.amqp_url, chunk=500, deadline=240)
        publishing = school.spawn()
        applied_before = eventually(
            lambda: (lambda n: n if n >= BURST // 10 else 0)(absence_rows(database_url, tag)), timeout=120, interval=0.05)
        stopping = time.monotonic()
        pg_ctl("stop", "-D", primary_data, "-m", "fast", "-w")
        pg_ctl("promote", "-D", replica_data, "-w")
        promoted_after = time.monotonic() - stopping
        stopped_at_rows = absence_rows(database_url, tag)
        publishing.wait()
        within(lambda: absence_rows(database_url, tag) >= BURST, timeout=240)
        within(lambda: cluster.queue("attendance.sis").get("messages") == 0, timeout=60)
        caught_up = time.monotonic() - stopping
        tally, applied = projection_tally(database_url, tag), effects(database_url, tag)
        sent = {e.id for e in burst}
        alive = {name: cluster.pid(name) == pid and os.path.exists(f"/proc/{pid}") for name, pid in pids.items()}
        ready = {name: cluster.readiness(name) for name in pids}
        report("PostgreSQL primary stopped mid-burst, replica promoted",
               sent=len(sent), published_with_repeats=school.published,
               applied_when_stopped=applied_before, applied_on_the_promoted_replica_at_once=stopped_at_rows,
               seconds_to_stop_and_promote=round(promoted_after, 2),
               seconds_from_stop_to_all_applied=round(caught_up, 1),
               store_rows=tally["store_rows"], projection_rows=tally["absence_rows"],
               projection_writes=applied["written"], lost=len(sent - tally["ids"]),
               applied_twice=applied["written"] - applied["absences"], unknown=len(tally["ids"] - sent),
               services_not_restarted=alive, services_ready=ready,
               dead_letters=cluster.queue("attendance.dead-letter").get("messages"))
        assert stopped_at_rows < BURST, "the burst was over before the failover: nothing was proven"
        assert tally["ids"] == sent
        assert tally["absence_rows"] == BURST
        assert applied == {"written": BURST, "absences": BURST}, "an absence was applied more than once"
        assert all(alive.values()), "a service was restarted"
        assert set(ready.values()) == {200}
        assert cluster.queue("attendance.dead-letter").get("messages") == 0
    finally:
        cluster.heal()
        stop_counting_effects(database_url)
