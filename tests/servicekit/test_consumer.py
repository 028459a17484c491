"""The batching consumer: retries with back-off, dead letters with their reason, replay, and
never a blocked queue."""
import json
import urllib.request
import uuid

from sqlalchemy import text

from contracts import Envelope
from servicekit import deadletters
from servicekit.consumer import Unprocessable, event_stream
from servicekit.database import Database
from servicekit.ops import Operations
from servicekit.projection import take_in
from servicekit.service import Service
from tests.support import eventually, publish, user_url

BROKEN = set()  # absence ids the probe cannot apply, until a fix clears them
NEVER = set()  # absence ids the probe says will never apply


class Probe(Service):
    """A minimal service: stores what it takes in, and fails on the absences it is told to."""

    name = "probe"

    @event_stream("sis", ["AbsenceRecorded"], batch_size=50)
    def take_in(self, events):
        return take_in(self.db, events, fail_as_told)


def fail_as_told(conn, events):
    for event in events:
        if event.data["absence_id"] in NEVER:
            raise Unprocessable(f"{event.data['absence_id']} will never apply")
        if event.data["absence_id"] in BROKEN:
            raise RuntimeError(f"cannot apply {event.data['absence_id']}")


def absence(absence_id):
    return Envelope.new("AbsenceRecorded", "sis", "css-probe.1", {
        "absence_id": absence_id, "student_id": "css-probe.1", "school_id": "css-probe.ecole", "date": "2026-11-02",
        "kind": "absence", "period": "full_day", "requires_justification": True}, "corr")


def stored_ids(container):
    engine = next(e for e in container.extensions if isinstance(e, Database)).engine
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT data->>'absence_id' FROM events"))}


def metrics_text(container) -> str:
    ops = next(e for e in container.extensions if isinstance(e, Operations))
    with urllib.request.urlopen(f"http://127.0.0.1:{ops.port}/metrics", timeout=5) as answer:
        return answer.read().decode()


RETRIED = 'portal_probe_events_handled_total{outcome="retried",source="sis",type="AbsenceRecorded"}'
HANDLER_FAILED = 'portal_probe_dead_letters_total{reason="handler_failed",source="sis"}'
UNPROCESSABLE = 'portal_probe_dead_letters_total{reason="unprocessable",source="sis"}'


def exported(container, *series: str) -> dict[str, float]:
    """The values ``/metrics`` exports for ``series`` (0 for one not exported yet). The registry
    is the whole test process's: tests compare values after with values before."""
    values = {}
    for line in metrics_text(container).splitlines():
        name, _, value = line.rpartition(" ")
        if name in series:
            values[name] = float(value)
    return {name: values.get(name, 0.0) for name in series}


def increase(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def test_a_poison_event_is_retried_then_dead_lettered_and_replayed_after_a_fix(start_service, amqp_url):
    probe = start_service(Probe)
    counted = exported(probe, RETRIED, HANDLER_FAILED)
    poison = f"poison-{uuid.uuid4().hex[:6]}"
    BROKEN.add(poison)
    before, after = [absence(f"ok-{uuid.uuid4().hex[:6]}") for _ in range(30)], [absence(f"ok-{uuid.uuid4().hex[:6]}")]
    publish(before + [absence(poison)] + after, amqp_url)

    # The events around it are applied at once; the poison one is not.
    good = {e.data["absence_id"] for e in before + after}
    eventually(lambda: good <= stored_ids(probe))
    letters = eventually(lambda: [d for d in deadletters.peek(amqp_url, "probe") if "cannot apply" in (d["reason"] or "")])
    assert len(letters) == 1 and poison in letters[0]["reason"]
    assert letters[0]["queue"] == "probe.sis"
    assert poison not in stored_ids(probe)
    assert increase(counted, exported(probe, RETRIED, HANDLER_FAILED)) == {RETRIED: 2, HANDLER_FAILED: 1}

    BROKEN.discard(poison)
    assert deadletters.replay(user_url(amqp_url, "probe"), "probe", {letters[0]["event_id"]}) == [letters[0]["event_id"]]
    eventually(lambda: poison in stored_ids(probe))
    assert not [d for d in deadletters.peek(amqp_url, "probe") if d["event_id"] == letters[0]["event_id"]]


def test_the_ops_endpoints_answer(start_service):
    probe = start_service(Probe)
    ops = next(e for e in probe.extensions if isinstance(e, Operations))
    with urllib.request.urlopen(f"http://127.0.0.1:{ops.port}/healthz", timeout=5) as answer:
        assert json.load(answer)["status"] == "alive"
    with urllib.request.urlopen(f"http://127.0.0.1:{ops.port}/readyz", timeout=5) as answer:
        assert json.load(answer) == {"ready": True, "problems": []}
    metrics = metrics_text(probe)
    for name in ("portal_probe_queue_depth_messages", "portal_probe_dead_letter_queue_messages",
                 "process_resident_memory_bytes"):
        assert name in metrics


def test_an_unprocessable_event_is_dead_lettered_at_once(start_service, amqp_url):
    probe = start_service(Probe)
    counted = exported(probe, UNPROCESSABLE)
    doomed = f"doomed-{uuid.uuid4().hex[:6]}"
    NEVER.add(doomed)
    publish([absence(doomed)], amqp_url)
    letters = eventually(lambda: [d for d in deadletters.peek(amqp_url, "probe") if doomed in (d["reason"] or "")])
    assert "will never apply" in letters[0]["reason"]
    assert increase(counted, exported(probe, UNPROCESSABLE)) == {UNPROCESSABLE: 1}
