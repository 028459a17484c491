"""Who may say what on the bus: the one table of which broker user speaks for which source.

Every message carries the AMQP ``user_id`` property, which RabbitMQ checks against the user of
the connection that published it, so a consumer knows who really sent an event, whatever the
event says about itself. Each service's user is named after the service and speaks for its own
events only. A school system's user is ``sis.<org id>``: it speaks for the ``sis`` events of its
own board, i.e. events whose every student, school and board id is that org id or starts with
``<org id>.``. The gateway speaks for no event; it is the one caller of the services' RPC
methods that act for a parent.

The broker's permissions (``permissions``) keep each user to its own exchanges and queues; the
local scripts and the cluster's ``Permission`` resources grant exactly these.
"""
from collections.abc import Iterable

from .registry import SERVICES, SOURCES, consumed_by, exchange_for

SCHOOL_SYSTEM = "sis"
SCHOOL_USER_PREFIX = "sis."
GATEWAY = "gateway"
# The fields of a school event that name whose data it is: a board, one of its schools or students.
OWNER_FIELDS = ("org_id", "school_id", "student_id")
OWNER_OBJECTS = ("org", "school")  # nested objects whose `id` names a board or a school


def school_user(org_id: str) -> str:
    """The broker user of the school system of board ``org_id``."""
    return f"{SCHOOL_USER_PREFIX}{org_id}"


def board_of(envelope) -> str | None:
    """The board a school event is about (the org part of its owner ids), or None when it names
    none or several."""
    boards = {name if field.startswith("org") else name.split(".", 1)[0]
              for field, name in owner_ids(envelope.data)}
    return boards.pop() if len(boards) == 1 else None


def refusal(user: str | None, envelope) -> str | None:
    """Why ``user`` (the broker-checked publisher) may not speak for ``envelope``; None if it may."""
    if not user:
        return "no user_id: the broker vouches for no sender"
    if envelope.source != SCHOOL_SYSTEM:
        return None if user == envelope.source else f"user {user} may not speak for {envelope.source}"
    if not user.startswith(SCHOOL_USER_PREFIX):
        return f"user {user} may not speak for {SCHOOL_SYSTEM}"
    board = user[len(SCHOOL_USER_PREFIX):]
    owners = owner_ids(envelope.data)
    if not owners:
        return "the event names no student, school or board"
    for field, name in owners:
        if name != board and not name.startswith(f"{board}."):
            return f"user {user} may not speak for {field} {name} of another board"
    return None


def owner_ids(data) -> list[tuple[str, str]]:
    """(field, id) of every student, school and board id in an event's ``data``, nested ones too."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in OWNER_FIELDS and isinstance(value, str):
                found.append((key, value))
            elif key in OWNER_OBJECTS and isinstance(value, dict) and isinstance(value.get("id"), str):
                found.append((f"{key}.id", value["id"]))
            found.extend(owner_ids(value) if isinstance(value, (dict, list)) else ())
    elif isinstance(data, list):
        for item in data:
            found.extend(owner_ids(item))
    return found


def permissions(user: str, sources: Iterable[str] | None = None) -> dict[str, str]:
    """The broker permissions (configure, write, read regexes on the portal's vhost) of ``user``:
    a service, the gateway or a school system. Configure and read cover what the user declares
    and binds: its own queues and exchange, the RPC exchange, and the exchanges of the sources it
    takes in from (its consumers declare them), no other: ``sources``, by default those the
    contracts name the service a consumer of (a test's own service names its own). Writing is
    limited to its own exchange, its own queues (through the default exchange, for retries and
    dead letters) and the RPC exchange (requests and replies)."""
    if user.startswith(SCHOOL_USER_PREFIX):
        # Publishes to the school exchange and nothing else: no queue, no RPC, no declaration.
        return {"configure": "^$", "write": f"^{_escape(exchange_for(SCHOOL_SYSTEM))}$", "read": "^$"}
    own = [f"{_escape(user)}\\..*", f"rpc\\.reply-{_escape(user)}-.*", "nameko-rpc"]
    if user == GATEWAY:
        # Its live feed's sources (gateway/live.py); it answers no RPC, so has no queue rpc-gateway.
        sources = (SCHOOL_SYSTEM, "attendance", "linking")
    else:
        own.append(f"rpc-{_escape(user)}")
        sources = [s for s in SOURCES if consumed_by(user, s)] if sources is None else sources
    writes = own + ([] if user == GATEWAY else ["amq\\.default"])
    names = own + [_escape(exchange_for(s)) for s in sources]
    return {"configure": _any(names), "write": _any(writes), "read": _any(names)}


def users() -> list[str]:
    """The portal's own users (the school systems' are one per board)."""
    return [*SERVICES, GATEWAY]


def _escape(name: str) -> str:
    return name.replace(".", "\\.")


def _any(patterns: list[str]) -> str:
    return f"^({'|'.join(patterns)})$"
