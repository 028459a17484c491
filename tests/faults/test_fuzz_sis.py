"""Invalid school-system payloads, made by mutating every published example, sent to every
service that consumes ``sis``: all dead-lettered with their reason, none applied, and the queue
keeps flowing behind them."""
from __future__ import annotations

import importlib
import uuid

import pika
import pytest
from nameko.containers import ServiceContainer
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

import contracts
from contracts.publish import publish_messages
from servicekit import deadletters
from servicekit.cli import service_class
from servicekit.consumer import EventStream
from tests.faults.mutations import example, invalid_bodies
from tests.faults.support import REPO, report, within
from tests.support import publish, service_config, user_url, wait_ready


def sis_consumers() -> dict[str, list[str]]:
    """{service: the sis event types it consumes}, found in every ``services/*/service.py``."""
    found = {}
    for path in sorted((REPO / "services").glob("*/service.py")):
        cls = service_class(path.parent.name)
        for method in vars(cls).values():
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventStream) and entrypoint.source == "sis":
                    found.setdefault(cls.name, []).extend(sorted(entrypoint.types))
    return found


CONSUMERS = sis_consumers()
SCHOOL = "sis.css-trois-lacs"  # the published examples' board, the fuzzer's school system


def test_every_service_consuming_the_school_system_is_fuzzed():
    assert "attendance" in CONSUMERS, CONSUMERS
    assert all(CONSUMERS.values())


@pytest.fixture(scope="module")
def fuzz_vhost(shared_servers):
    return shared_servers.amqp_url("fuzz")


@pytest.mark.parametrize("service", sorted(CONSUMERS))
def test_invalid_school_events_are_all_dead_lettered_with_a_reason_and_none_applied(
        service, shared_servers, fuzz_vhost):
    database_url = shared_servers.database_url(service, f"fuzz_{service}")
    container = ServiceContainer(service_class(service), service_config(service, fuzz_vhost, database_url))
    container.start()
    try:
        wait_ready(container)
        sent = {}  # marker (the AMQP message id) -> what was changed
        messages = []
        for event_type in CONSUMERS[service]:
            for what, body in invalid_bodies(event_type):
                marker = f"fuzz-{uuid.uuid4()}"
                sent[marker] = what
                messages.append(("sis.events", event_type, body, pika.BasicProperties(
                    message_id=marker, type=event_type, content_type="application/json", delivery_mode=2,
                    user_id=SCHOOL)))
        published = publish_messages(messages, user_url(fuzz_vhost, SCHOOL))
        assert published.confirmed == len(messages) and not published.unroutable, published

        letters = {}

        def all_dead_lettered() -> bool:
            letters.update({d["event_id"]: d for d in deadletters.peek(fuzz_vhost, service) if d["event_id"] in sent})
            return len(letters) == len(sent)

        within(all_dead_lettered, timeout=90, interval=1)
        applied = _applied(service, database_url)

        # Behind them, the valid examples still go through.
        valid = [contracts.parse(example(t)) for t in CONSUMERS[service]]
        publish(valid, fuzz_vhost)
        stored = set()
        within(lambda: stored.update(_stored_ids(database_url, {e.id for e in valid})) or len(stored) == len(valid),
               timeout=30)
        without_reason = [sent[m] for m, d in letters.items() if not d["reason"] or d["queue"] != f"{service}.sis"]
        reasons = {}
        for letter in letters.values():
            reason = (letter["reason"] or "").split(":")[0]
            reasons[reason] = reasons.get(reason, 0) + 1
        report(f"{service}: invalid school events", event_types=len(CONSUMERS[service]), sent=len(sent),
               dead_lettered=len(letters), lost=sorted(sent[m] for m in set(sent) - set(letters))[:10],
               dead_lettered_without_reason=without_reason[:10], reasons=reasons,
               applied=applied, valid_examples_after=len(valid), valid_examples_stored=len(stored),
               valid_examples_refused=sorted({e.type for e in valid if e.id not in stored}))
        assert set(letters) == set(sent)
        assert not without_reason
        assert applied == {"events": 0, "rows": {}}
        assert len(stored) == len(valid)
    finally:
        container.stop()


def _applied(service: str, database_url: str) -> dict:
    """What the service holds: rows of its store and of each of its read models that has any."""
    projections = importlib.import_module(f"services.{service}.projections")
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        rows = {table.name: count for table in projections.TABLES
                if (count := conn.execute(select(func.count()).select_from(table)).scalar_one())}
    return {"events": events, "rows": rows}


def _stored_ids(database_url: str, ids: set[str]) -> set[str]:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        return {str(row[0]) for row in conn.execute(
            text("SELECT event_id FROM events WHERE event_id = ANY(CAST(:ids AS uuid[]))"), {"ids": list(ids)})}
