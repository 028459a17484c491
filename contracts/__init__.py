"""The event contracts of Portail Parents: the envelope, one schema per event, the AMQP naming.

Imported by every service and by the school-system publisher (`python -m contracts.publish`).
"""
from . import events  # noqa: F401  (registers every event schema)
from .amqp import message_properties
from .envelope import Envelope, parse, validate_data
from .errors import InvalidEvent
from .events.school import pin_hash, pin_key
from .registry import EVENTS, SCHEMAS, EventSpec, consumed_by, exchange_for

__all__ = ["EVENTS", "SCHEMAS", "Envelope", "EventSpec", "InvalidEvent", "consumed_by",
           "exchange_for", "message_properties", "parse", "pin_hash", "pin_key",
           "validate_data"]
