"""A failing query never puts the values it carried (a child's name, a mark) in the logs, in a
dead-letter reason or in the error an RPC caller receives: PostgreSQL quotes them in its
messages (DETAIL, a failed cast), SQLAlchemy would add the bound parameters."""
import io
import logging
import uuid

import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import text

from contracts import Envelope
from servicekit import deadletters
from servicekit.consumer import event_stream
from servicekit.database import make_engine
from servicekit.logs import JsonFormatter
from servicekit.private import describe
from servicekit.projection import take_in
from servicekit.rpc import rpc
from servicekit.service import Service
from tests.support import eventually, publish

PUPILS = "CREATE TABLE IF NOT EXISTS pupils (name text UNIQUE, mark integer CHECK (mark <= 100))"


class Hushed(Service):
    """Writes each absence's id as a pupil's name, twice (the second breaks the unique name), or,
    for an id that ends in a mark, that mark (over 100 breaks the check)."""

    name = "hushed"

    @event_stream("sis", ["AbsenceRecorded"], batch_size=50)
    def take_in(self, events):
        return take_in(self.db, events, write_pupils)

    @rpc
    def mark_of(self, name):
        with self.db.connect() as conn:
            return conn.execute(text("SELECT CAST(:name AS integer)"), {"name": name}).scalar()


def write_pupils(conn, events):
    for event in events:
        name, _, mark = event.data["absence_id"].partition(":")
        conn.execute(text("INSERT INTO pupils (name, mark) VALUES (:name, :mark)"), {"name": name, "mark": int(mark or 0)})
        if not mark:
            conn.execute(text("INSERT INTO pupils (name) VALUES (:name)"), {"name": name})


@pytest.fixture
def logged():
    """Everything logged meanwhile, as the services write it (JSON lines)."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter("hushed"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def absence(absence_id: str) -> Envelope:
    return Envelope.new("AbsenceRecorded", "sis", "css-hushed.1", {
        "absence_id": absence_id, "student_id": "css-hushed.1", "school_id": "css-hushed.ecole", "date": "2026-11-02",
        "kind": "absence", "period": "full_day", "requires_justification": True}, "corr")


def test_every_engine_hides_the_values_bound_to_its_queries(database_url):
    engine = make_engine(database_url("hushed"))
    assert engine.hide_parameters
    with pytest.raises(Exception) as failed, engine.connect() as conn:
        conn.execute(text("SELECT CAST(:name AS integer)"), {"name": "Béatrice Tremblay"})
    engine.dispose()
    assert "Tremblay" not in describe(failed.value)
    assert describe(failed.value) == "DataError (InvalidTextRepresentation): SQLSTATE 22P02"


def test_a_failing_query_leaves_its_values_out_of_logs_dead_letters_and_rpc_errors(
        start_service, database_url, amqp_url, rpc, logged):
    engine = make_engine(database_url("hushed"))
    with engine.begin() as conn:
        conn.execute(text(PUPILS))
    engine.dispose()
    service = start_service(Hushed)
    name = f"Tremblay-{uuid.uuid4().hex[:8]}"
    publish([absence(name), absence(f"Gagnon-{name}:187")], amqp_url)

    letters = eventually(lambda: len(found := _letters(amqp_url, name)) == 2 and found, timeout=30)
    reasons = sorted(letter["reason"] for letter in letters)
    assert reasons == ["IntegrityError (CheckViolation): SQLSTATE 23514, table pupils, constraint pupils_mark_check",
                       "IntegrityError (UniqueViolation): SQLSTATE 23505, table pupils, constraint pupils_name_key"]

    with pytest.raises(RemoteError) as refused:
        rpc.hushed.mark_of(f"Béatrice {name}")
    assert refused.value.exc_type == "DatabaseFault" and name not in str(refused.value)

    service.stop()
    written = logged.getvalue()
    assert "dead-lettering" in written and "UniqueViolation" in written and "DatabaseFault" in written
    assert name not in written  # nor the mark: PostgreSQL quotes it only beside the name


def _letters(amqp_url: str, name: str) -> list:
    return [d for d in deadletters.peek(amqp_url, "hushed") if name in d["body"]]
