"""Cluster fault 1: ``kill -9`` of the RabbitMQ node leading attendance's queue in the middle of a
school's burst. The queue's other two members elect a leader, the school publishes again what
was not confirmed, both replicas of attendance reconnect through the balancer to the survivors:
every event is applied exactly once."""
import time
import uuid

import pytest

from tests.faults.support import (
    School, absence_rows, absences, count_effects, effects, projection_tally, report, stop_counting_effects, within,
)
from tests.support import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]

BURST = 20_000
QUEUE = "attendance.sis"


def test_the_leader_of_the_queue_killed_mid_burst_every_event_applied_exactly_once(cluster):
    tag = f"node-{uuid.uuid4().hex[:6]}"
    database_url = cluster.database_url("attendance")
    count_effects(database_url)
    try:
        queue = cluster.queue(QUEUE)
        leader, members = queue["leader"], sorted(queue["members"])
        burst = absences(BURST, tag)
        school = School(burst, cluster.amqp_url, deadline=240)
        publishing = school.spawn()
        applied_before = eventually(
            lambda: (lambda n: n if n >= BURST // 10 else 0)(absence_rows(database_url, tag)), timeout=120, interval=0.05)
        cluster.kill_rabbit(leader)
        killed_at = time.monotonic()
        killed_at_rows = absence_rows(database_url, tag)
        publishing.wait()
        within(lambda: absence_rows(database_url, tag) >= BURST, timeout=240)
        within(lambda: cluster.queue(QUEUE).get("messages") == 0, timeout=60)
        caught_up = time.monotonic() - killed_at
        after = cluster.queue(QUEUE)
        tally, applied = projection_tally(database_url, tag), effects(database_url, tag)
        sent = {e.id for e in burst}
        report("kill -9 of the RabbitMQ node leading attendance.sis mid-burst",
               sent=len(sent), published_with_repeats=school.published, publish_failures=len(school.failures),
               queue_members=members, leader_killed=leader, new_leader=after["leader"],
               applied_when_killed=f"{applied_before}..{killed_at_rows}",
               seconds_from_kill_to_all_applied=round(caught_up, 1),
               store_rows=tally["store_rows"], projection_rows=tally["absence_rows"],
               projection_writes=applied["written"], lost=len(sent - tally["ids"]),
               applied_twice=applied["written"] - applied["absences"], unknown=len(tally["ids"] - sent),
               messages_left=after.get("messages"),
               dead_letters=cluster.queue("attendance.dead-letter").get("messages"))
        assert len(members) == 3, "the queue has not three members"
        assert killed_at_rows < BURST, "the burst was over before the kill: nothing was proven"
        assert after["leader"] != leader
        assert tally["ids"] == sent
        assert tally["absence_rows"] == BURST
        assert applied == {"written": BURST, "absences": BURST}, "an absence was applied more than once"
        assert cluster.queue("attendance.dead-letter").get("messages") == 0
    finally:
        cluster.heal()
        stop_counting_effects(database_url)
