"""Nobody forges a fact: the broker checks who publishes, the consumers believe only who may
speak for an event, and the services answer only the gateway for a parent."""
import json
import uuid

import amqp
import pika
import pytest
from kombu import Connection
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import text

from contracts import Envelope
from servicekit import deadletters
from services.linking.service import LinkingService
from tests.support import eventually, publish, user_url

ORG, OTHER_ORG = "css-bus-a", "css-bus-b"


@pytest.fixture
def linking(start_service):
    return start_service(LinkingService)


@pytest.fixture
def db(engine_of):
    return engine_of("linking")


def stored(db, event_id: str) -> bool:
    with db.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM events WHERE event_id = :id"),
                                 {"id": uuid.UUID(event_id)}).scalar())


def dead_letter(amqp_url: str, event_id: str):
    return next((d for d in deadletters.peek(amqp_url, "linking") if d["event_id"] == event_id), None)


@pytest.fixture
def parent(amqp_url, db, linking):
    """A verified parent: (parent id, email)."""
    parent_id, email = str(uuid.uuid4()), f"parent.{uuid.uuid4().hex[:8]}@example.org"
    verified = Envelope.new("ParentVerified", "identity", parent_id,
                            {"parent_id": parent_id, "email": email, "locale": "fr"}, correlation_id="bus")
    publish([verified], amqp_url)
    eventually(lambda: stored(db, verified.id))
    return parent_id, email


def test_an_event_from_a_user_that_may_not_speak_for_its_source_is_dead_lettered_never_applied(
        amqp_url, db, parent):
    # Attendance's code, compromised, claims the parent proved a guardian's email. It cannot write
    # to identity.events, so it puts the event straight into linking's queue of identity events.
    parent_id, email = parent
    forged = Envelope.new("ParentEmailChanged", "identity", parent_id,
                          {"parent_id": parent_id, "old_email": email, "new_email": "guardian@example.org"},
                          correlation_id="forged")
    with Connection(user_url(amqp_url, "attendance")) as connection:
        channel = connection.channel()
        channel.confirm_select()
        channel.basic_publish_confirm(
            amqp.Message(forged.to_json(), message_id=forged.id, type=forged.type, delivery_mode=2,
                         content_type="application/json", user_id="attendance"),
            exchange="", routing_key="linking.identity")
    letter = eventually(lambda: dead_letter(amqp_url, forged.id))
    assert letter["reason"] == "refused: user attendance may not speak for identity"
    assert letter["queue"] == "linking.identity"
    assert not stored(db, forged.id)


def test_a_school_event_about_another_boards_student_is_dead_lettered_never_applied(amqp_url, db, parent):
    # Board B's school system makes the parent a guardian of board A's student.
    _, email = parent
    student = f"{ORG}.1234567"
    guardian = Envelope.new("GuardianAssigned", "sis", student, {
        "student_id": student, "guardian_id": f"{OTHER_ORG}.g-1", "name": "Julie Gagnon", "email": email,
        "principal": True, "access": True}, correlation_id="forged")
    with Connection(user_url(amqp_url, f"sis.{OTHER_ORG}")) as connection:
        connection.default_channel.basic_publish(
            amqp.Message(guardian.to_json(), message_id=guardian.id, type=guardian.type, delivery_mode=2,
                         content_type="application/json", user_id=f"sis.{OTHER_ORG}"),
            exchange="sis.events", routing_key="GuardianAssigned")
    letter = eventually(lambda: dead_letter(amqp_url, guardian.id))
    assert letter["reason"] == (f"refused: user sis.{OTHER_ORG} may not speak for student_id {student} "
                                f"of another board")
    assert not stored(db, guardian.id)


def test_the_broker_refuses_a_message_whose_user_id_is_not_the_publishers(amqp_url, linking):
    connection = pika.BlockingConnection(pika.URLParameters(user_url(amqp_url, f"sis.{ORG}")))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        with pytest.raises(ChannelClosedByBroker) as refused:
            channel.basic_publish("sis.events", "GuardianAssigned", b"{}",
                                  pika.BasicProperties(user_id="identity"))
    finally:
        connection.close()
    assert refused.value.reply_code == 406
    assert "user_id property set to 'identity' but authenticated user was" in refused.value.reply_text


@pytest.mark.parametrize("exchange", ["identity.events", "linking.events", "nameko-rpc", ""])
def test_a_school_system_may_publish_to_the_school_exchange_only(amqp_url, linking, exchange):
    user = f"sis.{ORG}"
    connection = pika.BlockingConnection(pika.URLParameters(user_url(amqp_url, user)))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        with pytest.raises(ChannelClosedByBroker) as refused:
            channel.basic_publish(exchange, "linking.export", b"{}", pika.BasicProperties(user_id=user))
    finally:
        connection.close()
    assert refused.value.reply_code == 403  # ACCESS_REFUSED


def call_as(amqp_url: str, user: str, method: str, *args) -> dict:
    """Call a service's RPC method in nameko's wire format as broker user ``user``; the reply."""
    key = str(uuid.uuid4())
    with Connection(user_url(amqp_url, user)) as connection:
        channel = connection.channel()
        queue = f"rpc.reply-{user}-{key}"
        channel.queue_declare(queue, exclusive=True, auto_delete=True)
        channel.queue_bind(queue, "nameko-rpc", key)
        replies = []
        channel.basic_consume(queue, callback=replies.append, no_ack=True)
        channel.basic_publish(
            amqp.Message(json.dumps({"args": list(args), "kwargs": {}}), content_type="application/json",
                         reply_to=key, correlation_id=key, user_id=user),
            exchange="nameko-rpc", routing_key=method)
        while not replies:
            connection.drain_events(timeout=20)
        return json.loads(replies[0].body)


def test_a_service_method_acting_for_a_parent_answers_the_gateway_only(amqp_url, rpc, parent):
    parent_id, _ = parent
    assert rpc.linking.export(parent_id) is not None  # the gateway's call
    refused = call_as(amqp_url, "attendance", "linking.export", parent_id)
    assert refused["result"] is None
    assert refused["error"]["exc_type"] == "CallerRefused"
    assert refused["error"]["value"] == "attendance may not call export"
