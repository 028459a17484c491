"""Look at a service's dead letters and send chosen ones back, after a fix; forget those that name
a closed account's parent."""
from __future__ import annotations

from kombu import Connection

from .config import user_of
from .consumer import ATTEMPTS_HEADER, QUEUE_HEADER, REASON_HEADER, copy_of, dead_letter_queue, declare_dead_letter_queue


def _each(channel, service: str):
    """Every message of the queue, held unacknowledged by this channel until it closes."""
    while True:
        message = channel.basic_get(dead_letter_queue(service), no_ack=False)
        if message is None:
            return
        yield message


def _describe(message) -> dict:
    headers = message.properties.get("application_headers") or {}
    deaths = headers.get("x-death") or []
    return {
        "event_id": message.properties.get("message_id"),
        "type": message.properties.get("type"),
        "queue": headers.get(QUEUE_HEADER) or (deaths[0].get("queue") if deaths else None),
        "reason": headers.get(REASON_HEADER) or (deaths[0].get("reason") if deaths else None),
        # A body that is not UTF-8 is one reason to be here: shown with its bytes escaped.
        "body": message.body.decode(errors="backslashreplace") if isinstance(message.body, bytes) else message.body,
    }


def peek(amqp_url: str, service: str) -> list[dict]:
    with Connection(amqp_url) as connection:
        channel = connection.channel()
        declare_dead_letter_queue(channel, service)
        letters = [_describe(m) for m in _each(channel, service)]
        channel.close()  # gives every message back to the queue, unchanged
    return letters


def replay(amqp_url: str, service: str, event_ids: set[str] | None) -> list[str]:
    """Publish the chosen dead letters (all when ``event_ids`` is None) to the queue they came
    from with a fresh count of tries, then remove them from the dead-letter queue."""
    replayed = []
    with Connection(amqp_url) as connection:
        channel = connection.channel()
        declare_dead_letter_queue(channel, service)
        channel.confirm_select()
        for message in _each(channel, service):
            letter = _describe(message)
            if (event_ids is None or letter["event_id"] in event_ids) and letter["queue"]:
                headers = {k: v for k, v in (message.properties.get("application_headers") or {}).items()
                           if k not in (ATTEMPTS_HEADER, REASON_HEADER, QUEUE_HEADER, "x-death")
                           and not k.startswith("x-first-death") and not k.startswith("x-last-death")}
                channel.basic_publish_confirm(copy_of(message, user_of(amqp_url), headers),
                                              exchange="", routing_key=letter["queue"])
                channel.basic_ack(message.delivery_tag)
                replayed.append(letter["event_id"])
        channel.close()
    return replayed


def forget(channel, service: str, parent_ids: list[str]) -> int:
    """Law 25: remove the dead letters whose body names one of ``parent_ids`` (the event as it
    came, with its plain values); the others stay, given back unchanged when ``channel`` closes.
    Returns how many were removed."""
    names = [p.encode() for p in parent_ids]
    removed = 0
    for message in _each(channel, service):
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        if any(name in body for name in names):
            channel.basic_ack(message.delivery_tag)
            removed += 1
    return removed
