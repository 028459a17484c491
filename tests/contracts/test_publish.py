"""The school-system publisher: validation of a batch, then publishing to the real RabbitMQ."""
import json
import time
import uuid

import pika
import pytest

import contracts
from contracts import parse
from contracts.publish import PublishError, bench_envelopes, main, publish, read_batch, send
from tests.support import create_vhost, delete_vhost

from .conftest import dump_lines

ABSENCE = {"absence_id": "abs-9", "student_id": "css-x.42", "school_id": "css-x.ecole",
           "date": "2026-11-16", "kind": "absence", "period": "am",
           "requires_justification": True}


def shorthand(**data):
    return {"type": "AbsenceRecorded", "subject": "css-x.42", "data": dict(ABSENCE, **data)}


def test_shorthand_lines_are_completed_as_sis_events_of_the_batch(example):
    lines = [json.dumps(shorthand(absence_id=f"abs-{n}")) for n in range(3)]
    lines.append(json.dumps(example("AbsenceCancelled")))
    envelopes, problems = read_batch(["\n"] + lines, "lot-test")
    assert problems == []
    assert [e.type for e in envelopes] == ["AbsenceRecorded"] * 3 + ["AbsenceCancelled"]
    assert {e.source for e in envelopes} == {"sis"}
    assert [e.correlation_id for e in envelopes[:3]] == ["lot-test"] * 3
    assert len({e.id for e in envelopes}) == 4
    assert envelopes[3] == parse(example("AbsenceCancelled"))


def test_every_invalid_line_is_reported_with_its_number_and_field(example):
    lines = [
        json.dumps(shorthand()),
        json.dumps(shorthand(kind="sick")),
        "{oops",
        json.dumps({"type": "AbsenceInvented", "subject": "x", "data": {}}),
        json.dumps(example("ChildLinked")),  # not a school-system event
        json.dumps(example("AbsenceCancelled")),
        json.dumps(example("AbsenceCancelled")),  # same id twice
        json.dumps({"type": "AbsenceRecorded", "data": ABSENCE}),
    ]
    envelopes, problems = read_batch(lines, "lot-test")
    assert [(number, problem.field, problem.code) for number, problem in problems] == [
        (2, "data.kind", "not_allowed"),
        (3, None, "not_json"),
        (4, "type", "unknown_type"),
        (5, "type", "not_a_school_event"),
        (7, "id", "duplicate"),
        (8, "subject", "required"),
    ]


def test_dry_run_validates_without_publishing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PORTAL_AMQP_URL", raising=False)
    monkeypatch.delenv("PORTAL_AMQP_URL_BASE", raising=False)
    good = dump_lines(tmp_path / "good.jsonl", [shorthand(), shorthand(absence_id="abs-10")])
    assert main([str(good), "--dry-run"]) == 0
    assert "2 événements valides / valid events" in capsys.readouterr().out
    bad = dump_lines(tmp_path / "bad.jsonl", [shorthand(), shorthand(date="2026-02-30")])
    assert main([str(bad), "--dry-run"]) == 1
    assert "line 2: data.date: [bad_date]" in capsys.readouterr().err


def test_an_invalid_batch_publishes_nothing(tmp_path, amqp_url, sis_queue, capsys):
    bad = dump_lines(tmp_path / "bad.jsonl", [shorthand(), shorthand(period="night")])
    assert main([str(bad), "--amqp-url", amqp_url]) == 1
    assert "nothing published" in capsys.readouterr().err
    assert sis_queue(expected=1, timeout=1) == []


def test_publish_delivers_every_event_with_its_amqp_naming(amqp_url, sis_queue, example):
    envelopes = [parse(example(type)) for type in sorted(contracts.EVENTS)
                 if contracts.EVENTS[type].source == "sis"]
    assert publish(envelopes, amqp_url) == len(envelopes)
    received = sis_queue(expected=len(envelopes))
    assert len(received) == len(envelopes)
    for envelope, (method, properties, body) in zip(envelopes, received):
        assert parse(body) == envelope
        assert method.exchange == "sis.events" and method.routing_key == envelope.type
        assert properties.message_id == envelope.id and properties.type == envelope.type
        assert properties.delivery_mode == 2
        assert properties.content_type == "application/json"
        assert properties.headers == {"subject": envelope.subject}
        assert properties.correlation_id == envelope.correlation_id


def test_cli_publishes_a_file(tmp_path, amqp_url, sis_queue, capsys):
    batch = dump_lines(tmp_path / "batch.jsonl",
                       [shorthand(absence_id=f"abs-{n}") for n in range(50)])
    assert main([str(batch), "--amqp-url", amqp_url, "--correlation-id", "lot-cli"]) == 0
    assert "50 événements publiés" in capsys.readouterr().out
    received = [parse(body) for _, _, body in sis_queue(expected=50)]
    assert [e.data["absence_id"] for e in received] == [f"abs-{n}" for n in range(50)]
    assert {e.correlation_id for e in received} == {"lot-cli"}


def test_events_no_queue_takes_are_reported_not_lost_silently(portal_env):
    # A vhost of its own: in the session's, services' queues are bound to sis.events already.
    vhost = f"unbound{uuid.uuid4().hex[:8]}"
    empty = create_vhost(vhost)
    try:
        connection = pika.BlockingConnection(pika.URLParameters(empty))
        connection.channel().exchange_declare("sis.events", exchange_type="topic", durable=True)
        connection.close()
        with pytest.raises(PublishError) as failed:
            publish(bench_envelopes(5), empty)
    finally:
        delete_vhost(vhost)
    assert len(failed.value.result.unroutable) == 5
    assert "not routed to any queue" in str(failed.value)


def test_an_unreachable_broker_is_an_error_not_a_hang():
    started = time.monotonic()
    with pytest.raises(PublishError) as failed:
        publish(bench_envelopes(1), "amqp://nobody:nothing@127.0.0.1:1/%2F")
    assert "cannot connect" in str(failed.value)
    assert time.monotonic() - started < 30


def test_ten_thousand_events_are_all_confirmed_and_delivered(amqp_url, sis_queue):
    # The rate belongs to the benchmarks (bench/ingestion.py), not to a timed test.
    result = send(bench_envelopes(10_000), amqp_url)
    assert result.confirmed == 10_000
    assert len(sis_queue(expected=10_000)) == 10_000


def test_a_small_window_still_publishes_everything(amqp_url, sis_queue):
    assert send(bench_envelopes(300), amqp_url, window=7).confirmed == 300
    assert len(sis_queue(expected=300)) == 300
