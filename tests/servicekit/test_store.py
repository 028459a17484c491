"""The event store: optimistic concurrency, streams, the inbox, position order."""
import uuid

import pytest
from sqlalchemy import create_engine

from contracts import Envelope
from services.attendance.domain import StudentAttendance
from servicekit import store

PARENT = "0b6f3a52-3c1e-4d8a-9f51-2f4c7f9e8a10"


def motivated(student, absence):
    return Envelope.new("AbsenceMotivated", "attendance", student, {
        "absence_id": absence, "student_id": student, "parent_id": PARENT, "reason_code": "MAL"}, "corr")


def recorded(student):
    return Envelope.new("AbsenceRecorded", "sis", student, {
        "absence_id": uuid.uuid4().hex, "student_id": student, "school_id": "s", "date": "2026-11-02",
        "kind": "absence", "period": "full_day", "requires_justification": True}, "corr")


@pytest.fixture
def engine(database_url):
    # A database with the kit's tables only: events written here feed no read model.
    engine = create_engine(database_url("kit"))
    yield engine
    engine.dispose()


def test_a_stale_writer_is_refused_and_the_stream_keeps_its_order(engine):
    student = f"s-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        assert store.append(conn, 0, [motivated(student, "a1"), motivated(student, "a2")]) == 2
    with pytest.raises(store.ConcurrencyError):
        with engine.begin() as conn:
            store.append(conn, 1, [motivated(student, "a3")])
    with engine.begin() as conn:
        store.append(conn, 2, [motivated(student, "a3")])
        assert [e.data["absence_id"] for e in store.load_stream(conn, student)] == ["a1", "a2", "a3"]


def justify(attendance, absence):
    return attendance.record("AbsenceMotivated", {
        "absence_id": absence, "student_id": attendance.key, "parent_id": PARENT, "reason_code": "MAL"}, "corr")


def test_an_aggregate_saved_from_an_old_version_is_refused(engine):
    student = f"s-{uuid.uuid4().hex[:8]}"
    commands = store.Commands(lambda conn, events: None)
    with engine.begin() as conn:
        first = commands.within(conn).load(StudentAttendance, student)
        second = commands.within(conn).load(StudentAttendance, student)
    justify(first, "a1")
    justify(second, "a1")
    with engine.begin() as conn:
        commands.within(conn).save(first)
    with pytest.raises(store.ConcurrencyError):
        with engine.begin() as conn:
            commands.within(conn).save(second)
    with engine.begin() as conn:
        assert commands.within(conn).load(StudentAttendance, student).justified == {"a1"}


def test_a_command_that_meets_a_concurrent_write_runs_again_on_what_was_written(engine):
    student = f"s-{uuid.uuid4().hex[:8]}"
    projected, seen = [], []
    commands = store.Commands(lambda conn, events: projected.extend(e.data["absence_id"] for e in events))

    def command(unit):
        attendance = unit.load(StudentAttendance, student)
        seen.append(set(attendance.justified))
        if len(seen) == 1:  # another writer moves the stream between this load and this save
            with engine.begin() as other:
                store.append(other, 0, [motivated(student, "a1")])
        justify(attendance, "a2")
        return unit.save(attendance)

    stored = commands.run(engine, command)
    assert seen == [set(), {"a1"}]
    assert [e.data["absence_id"] for e in stored] == projected == ["a2"]
    with engine.begin() as conn:
        assert [e.data["absence_id"] for e in store.load_stream(conn, student)] == ["a1", "a2"]


def test_the_inbox_admits_an_event_once(engine):
    student = f"s-{uuid.uuid4().hex[:8]}"
    first, second = recorded(student), recorded(student)
    with engine.begin() as conn:
        assert [e.id for e in store.admit(conn, [first, first])] == [first.id]
    with engine.begin() as conn:
        assert [e.id for e in store.admit(conn, [first, second])] == [second.id]
        # Events taken in are not the service's own stream.
        assert store.load_stream(conn, student) == []


def test_read_all_returns_every_event_in_position_order(engine):
    student = f"s-{uuid.uuid4().hex[:8]}"
    events = [recorded(student) for _ in range(5)]
    with engine.begin() as conn:
        store.admit(conn, events)
        ids = [e.id for chunk in store.read_all(conn, chunk=2) for e in chunk]
    positions = [ids.index(e.id) for e in events]
    assert positions == sorted(positions)
