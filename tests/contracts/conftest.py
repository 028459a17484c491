"""Fixtures of the contract tests. `amqp_url` (a vhost of the test session's own) comes from the
top conftest."""
import copy
import json
import pathlib
import uuid

import pika
import pytest

import contracts
from contracts.export import example_envelope

EXAMPLES = pathlib.Path(contracts.__file__).resolve().parent / "examples"


@pytest.fixture
def example():
    """`example(type)`: a fresh, mutable copy of the event's published example envelope."""
    return lambda type: copy.deepcopy(example_envelope(type))


@pytest.fixture
def sis_queue(amqp_url):
    """A queue of this test's own bound to every event of `sis.events`; yields a reader that
    returns the messages received so far as (method, properties, body)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare(contracts.exchange_for("sis"), exchange_type="topic", durable=True)
    queue = f"test.contracts.{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue, exclusive=True)
    channel.queue_bind(queue, contracts.exchange_for("sis"), routing_key="#")

    def read(expected, timeout=30):
        received = []
        for method, properties, body in channel.consume(queue, auto_ack=True,
                                                        inactivity_timeout=timeout):
            if method is None:
                break
            received.append((method, properties, body))
            if len(received) == expected:
                break
        channel.cancel()
        return received

    yield read
    connection.close()


def dump_lines(path, bodies):
    path.write_text("".join(json.dumps(body, ensure_ascii=False) + "\n" for body in bodies),
                    encoding="utf-8")
    return path
