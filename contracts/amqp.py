"""How an envelope maps onto AMQP (nameko's event conventions, so `@event_handler` just works)."""
from .registry import exchange_for

EXCHANGE_TYPE = "topic"
PERSISTENT = 2
CONTENT_TYPE = "application/json"


def message_properties(envelope, user_id):
    """Routing and properties of one event: (exchange, routing key, properties as a dict).

    The properties are plain keyword arguments for pika.BasicProperties or kombu's publish.
    ``user_id`` is the broker user of the publishing connection: RabbitMQ refuses a message whose
    user_id is not, and consumers believe only what that user may say (``contracts.trust``).
    """
    return exchange_for(envelope.source), envelope.type, {
        "message_id": envelope.id,
        "type": envelope.type,
        "content_type": CONTENT_TYPE,
        "content_encoding": "utf-8",
        "delivery_mode": PERSISTENT,
        "correlation_id": envelope.correlation_id,
        "user_id": user_id,
        "headers": {"subject": envelope.subject},
    }
