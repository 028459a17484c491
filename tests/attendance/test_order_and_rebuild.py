"""Two consumers on one queue and events out of order; then a rebuild from the store."""
import uuid

from sqlalchemy import create_engine, text

from services.attendance.service import AttendanceService
from servicekit.cli import rebuild_projections
from tests.attendance.test_attendance_service import absence_event, school_event
from tests.support import eventually, publish


def read_models(engine):
    with engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
                for table in ("absences", "declarations", "calendars", "links")}


def test_two_consumers_and_reordered_events_end_in_the_same_state_and_a_rebuild_reproduces_it(
        start_service, amqp_url, database_url):
    first, second = start_service(AttendanceService), start_service(AttendanceService)
    child = f"css-test.{uuid.uuid4().hex[:8]}"
    records = [absence_event(child) for _ in range(200)]
    cancels = [school_event("AbsenceCancelled", {"absence_id": r.data["absence_id"], "student_id": child}, child)
               for r in records[:100]]
    # Half the cancellations go out before the absence they cancel, the rest after it.
    publish(cancels[:50], amqp_url)
    publish(records, amqp_url)
    publish(cancels[50:], amqp_url)
    publish(records[150:], amqp_url)  # and a redelivery of some

    engine = create_engine(database_url("attendance"))

    def settled():
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT count(*) FILTER (WHERE cancelled), count(*) FILTER (WHERE NOT cancelled) "
                "FROM absences WHERE student_id = :s"), {"s": child}).one()
        return tuple(rows) == (100, 100)

    eventually(settled, timeout=30)
    with engine.connect() as conn:
        kept = {row[0] for row in conn.execute(text(
            "SELECT absence_id FROM absences WHERE student_id = :s AND NOT cancelled"), {"s": child})}
    assert kept == {r.data["absence_id"] for r in records[100:]}
    # Two consumers were on the school queue all along.
    for container in (first, second):
        assert [e.connected for e in container.extensions
                if type(e).__name__ == "EventStream" and e.source == "sis"] == [True]

    before = read_models(engine)
    result = rebuild_projections("attendance", database_url("attendance"))
    assert result["events"] >= 300
    assert read_models(engine) == before
    engine.dispose()
