"""Faults 2 and 3: the private RabbitMQ, then the private PostgreSQL, stopped and started while a
school publishes a burst and attendance relays its own events."""
import time
import uuid

import pytest

from gateway.rpc import RpcClient
from servicekit.errors import DomainError
from tests.faults.support import (
    Listener, OwnEvents, ReadinessWatch, School, absence_rows, absences, count_effects, effects, projection_tally,
    queue_depths, report, waiting_for_the_database, within,
)
from tests.support import eventually

BURST = 5_000
OWN_EVENTS = 1_500
OUTAGE = 5  # seconds the server stays stopped, beyond the time it takes to stop


@pytest.mark.parametrize("server", ["rabbitmq", "postgresql"])
def test_a_server_restarted_mid_burst_loses_nothing_and_the_service_reconnects_by_itself(
        private_servers, service_process, server):
    tag = f"{server}-{uuid.uuid4().hex[:6]}"
    amqp_url, database_url = private_servers.amqp_url(server), private_servers.database_url("attendance", server)
    relayed = Listener(amqp_url, "attendance")
    count_effects(database_url)
    # Tries that end well before the outage does: an outage is not the events' fault, and must
    # not send them to the dead letters.
    attendance = service_process("attendance", amqp_url, database_url, PORTAL_RETRY_DELAYS="0.5,1").start()
    attendance.wait_ready()
    watch = ReadinessWatch(attendance)
    burst = absences(BURST, tag)
    school, own = School(burst, amqp_url, chunk=500, pause=0.5), OwnEvents(database_url, OWN_EVENTS, tag)
    publishing, writing = school.spawn(), own.spawn()

    eventually(lambda: absence_rows(database_url) >= BURST // 10, timeout=90, interval=0.1)
    applied_before = absence_rows(database_url)
    down_at = time.monotonic()
    private_servers.stop(server)
    time.sleep(OUTAGE)  # the fault itself: the server stays down this long
    private_servers.start(server)
    up_at = time.monotonic()

    publishing.wait()
    writing.wait()
    within(lambda: absence_rows(database_url) >= BURST, timeout=150)
    within(lambda: queue_depths(amqp_url, "attendance")["attendance.sis"] == 0, timeout=30)
    received: list[str] = []

    def everything_relayed() -> bool:
        received.extend(relayed.drain())
        return set(own.stored) <= set(received)

    within(everything_relayed, timeout=60, interval=1)
    within(lambda: attendance.readiness() == 200, timeout=30)
    watch.stop()
    during, after = watch.between(down_at, up_at), watch.between(up_at)
    tally, sent, depths = projection_tally(database_url), {e.id for e in burst}, queue_depths(amqp_url, "attendance")
    applied = effects(database_url)
    report(f"{server} stopped and started mid-burst",
           outage_seconds=round(up_at - down_at, 1), school_events_sent=len(sent),
           school_published_with_repeats=school.published, school_publish_failures=len(school.failures),
           applied_when_stopped=applied_before, store_rows=tally["store_rows"],
           projection_rows=tally["absence_rows"], projection_writes=applied["written"],
           school_events_lost=len(sent - tally["ids"]), school_events_applied_twice=applied["written"] - applied["absences"],
           own_events_stored=len(own.stored), own_event_write_retries=own.failures,
           own_events_relayed=len(set(received)), own_events_lost=len(set(own.stored) - set(received)),
           own_events_published_twice=len(received) - len(set(received)),
           readyz_during_outage=sorted(set(during), key=str), readyz_after=sorted(set(after[-5:]), key=str),
           service_restarts=attendance.starts - 1, queues_after=depths)
    assert attendance.process.poll() is None and attendance.starts == 1, "the service did not ride it out"
    assert 503 in during, "/readyz never said not ready while the server was down"
    assert after[-1] == 200
    assert tally["ids"] == sent
    assert tally["absence_rows"] == BURST
    assert applied == {"written": BURST, "absences": BURST}, "an absence was applied more than once"
    assert set(received) == set(own.stored) and len(own.stored) == OWN_EVENTS
    assert depths == {"attendance.sis": 0, "attendance.dead-letter": 0}


def asking_for_absences(amqp_url: str) -> str:
    """What a parent asking attendance for a child's absences is told: the error's code."""
    rpc = RpcClient(amqp_url, timeout=30)  # as the gateway asks
    rpc.start()
    try:
        rpc.call("attendance", "absences", str(uuid.uuid4()), "css-outage.1234567")
    except DomainError as refused:
        return refused.code
    finally:
        rpc.stop()
    return "answered"


def test_events_arriving_while_the_database_is_away_wait_for_it_instead_of_spending_their_tries(
        private_servers, service_process):
    tag = f"waiting-{uuid.uuid4().hex[:6]}"
    amqp_url, database_url = private_servers.amqp_url("waiting"), private_servers.database_url("attendance", "waiting")
    count_effects(database_url)
    attendance = service_process("attendance", amqp_url, database_url, PORTAL_RETRY_DELAYS="0.2,0.3").start()
    attendance.wait_ready()
    # Few, so that each one's tries, one event at a time, would all end well within the outage.
    events = absences(20, tag)
    private_servers.stop("postgresql")
    try:
        School(events, amqp_url).run()
        # The positive sign that the events met the outage: every one delivered to the service
        # (none ready in the queue) and the service saying they wait for the database. A batch
        # that fails with the database away is held there, unacknowledged, before any of its
        # tries: an event that spent its tries would be in the dead letters by now.
        met_the_outage = within(lambda: queue_depths(amqp_url, "attendance")["attendance.sis"] == 0
                                and waiting_for_the_database(attendance), timeout=60, interval=0.2)
        readiness_meanwhile = attendance.readiness()
        dead_meanwhile = queue_depths(amqp_url, "attendance")["attendance.dead-letter"]
        parent_told_meanwhile = asking_for_absences(amqp_url)
    finally:
        private_servers.start("postgresql")
    within(lambda: absence_rows(database_url) >= len(events), timeout=60)
    parent_told_after = asking_for_absences(amqp_url)
    tally, depths, applied = projection_tally(database_url), queue_depths(amqp_url, "attendance"), effects(database_url)
    report("events published while the database is away", sent=len(events), readyz_meanwhile=readiness_meanwhile,
           dead_lettered_meanwhile=dead_meanwhile, parent_told_meanwhile=parent_told_meanwhile,
           delivered_and_waiting_meanwhile=met_the_outage,
           parent_told_after=parent_told_after, stored=tally["store_rows"], projection_rows=tally["absence_rows"],
           projection_writes=applied["written"], lost=len({e.id for e in events} - tally["ids"]), queues_after=depths)
    assert met_the_outage, "the events never reached the service, or it never said they wait for the database"
    assert readiness_meanwhile == 503 and dead_meanwhile == 0
    # 503 "try again in a moment" while it is away, the domain's own answer once it is back
    assert parent_told_meanwhile == "service_unavailable" and parent_told_after == "child_not_found"
    assert tally["ids"] == {e.id for e in events} and tally["absence_rows"] == len(events)
    assert applied == {"written": len(events), "absences": len(events)}
    assert depths == {"attendance.sis": 0, "attendance.dead-letter": 0}
