"""Fault 1: ``kill -9`` of a service process in the middle of a school's burst, then a restart."""
import time
import uuid

from tests.faults.support import (
    School, absence_rows, absences, count_effects, effects, projection_tally, queue_depths, report, within,
)
from tests.support import eventually

BURST = 20_000


def test_a_service_killed_mid_burst_applies_every_event_exactly_once_after_its_restart(
        shared_servers, service_process):
    tag = f"kill-{uuid.uuid4().hex[:6]}"
    amqp_url, database_url = shared_servers.amqp_url("kill"), shared_servers.database_url("attendance", "kill")
    count_effects(database_url)
    attendance = service_process("attendance", amqp_url, database_url).start()
    attendance.wait_ready()
    burst = absences(BURST, tag)

    school = School(burst, amqp_url)
    publishing = school.spawn()
    # Killed once it has applied some of the burst and well before it is done.
    applied_before = eventually(lambda: (lambda n: n if n >= BURST // 10 else 0)(absence_rows(database_url)),
                                timeout=60, interval=0.05)
    attendance.kill9()
    killed_at_rows = absence_rows(database_url)
    publishing.wait()
    assert killed_at_rows < BURST, "the burst was over before the kill: nothing was proven"
    # What the broker gives again: the unapplied rest, plus any applied but not yet acknowledged.
    queued_after_kill = queue_depths(amqp_url, "attendance")["attendance.sis"]

    started = time.monotonic()
    attendance.start()
    attendance.wait_ready()
    within(lambda: absence_rows(database_url) >= BURST, timeout=150)
    within(lambda: queue_depths(amqp_url, "attendance")["attendance.sis"] == 0, timeout=30)
    caught_up = time.monotonic() - started
    tally, applied = projection_tally(database_url), effects(database_url)
    sent = {e.id for e in burst}
    depths = queue_depths(amqp_url, "attendance")
    redelivered = attendance.metric("portal_attendance_events_handled_total", outcome="duplicate")
    report("kill -9 of attendance mid-burst, then restart",
           sent=len(sent), published_with_repeats=school.published,
           applied_when_killed=f"{applied_before}..{killed_at_rows}",
           queued_after_kill=queued_after_kill,
           applied_and_redelivered=queued_after_kill - (BURST - killed_at_rows),
           skipped_as_duplicates_after_restart=redelivered,
           seconds_to_catch_up_after_restart=round(caught_up, 1),
           store_rows=tally["store_rows"], projection_rows=tally["absence_rows"],
           projection_writes=applied["written"], lost=len(sent - tally["ids"]),
           applied_twice=applied["written"] - applied["absences"], unknown=len(tally["ids"] - sent),
           queues_after=depths)
    assert tally["ids"] == sent
    assert tally["absence_rows"] == BURST
    assert applied == {"written": BURST, "absences": BURST}, "an absence was applied more than once"
    assert depths == {"attendance.sis": 0, "attendance.dead-letter": 0}
