"""RPC between the gateway and the services.

Domain errors cross as themselves (registered for deserialisation), and ``rpc`` marks them as
expected, so nameko does not log a parent's typo as a service error. The service's database out
of reach (restarting, failing over) answers ``service_unavailable`` (503), as a service that is
down does, rather than an internal error.

A method answers only its callers: by default the gateway, which acts for a signed-in parent. A
request says who sends it in its AMQP ``user_id``, which RabbitMQ checks against the connection,
so another service, or anyone else on the broker, cannot call ``linking.export`` for a parent.
"""
import functools
import inspect
import logging

from nameko.exceptions import deserialize_to_instance
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Rpc, RpcConsumer
from nameko.rpc import RpcProxy as NamekoRpcProxy
from sqlalchemy.exc import OperationalError, StatementError

from contracts import trust

from .config import user_of
from .errors import Conflict, DomainError, NotFound, TooManyAttempts, Unavailable
from .private import DatabaseFault, describe

for _error in (DomainError, NotFound, Conflict, TooManyAttempts, Unavailable):
    deserialize_to_instance(_error)


log = logging.getLogger(__name__)


# In ``callers``: the service's own broker user, in whose name its operators' tooling calls the
# methods that answer the school rather than a parent (``servicekit.privacy``).
OWN_SERVICE = "<own service>"


class CallerRefused(Exception):
    """The request's sender may not call this method."""


class PromptQueueConsumer(QueueConsumer):
    """nameko's queue consumer reading the broker in slices of 0.1 s, not kombu's 1 s: a stopping
    service's entrypoints are let go at the next slice, so that it stops in a fraction of a second
    (a rolling update, each test's teardown) instead of two, for ten idle wake-ups a second."""

    def consume(self, *args, **kwargs):
        return super().consume(*args, **{"safety_interval": 0.1, **kwargs})


class PromptRpcConsumer(RpcConsumer):
    queue_consumer = PromptQueueConsumer()


class GuardedRpc(Rpc):
    """nameko's RPC entrypoint, answering only requests whose broker-checked sender is one of
    ``callers``; others get ``CallerRefused``."""

    rpc_consumer = PromptRpcConsumer()

    def __init__(self, callers=(trust.GATEWAY,), **kwargs):
        self.callers = frozenset(callers)
        super().__init__(**kwargs)

    def setup(self):
        self.callers = frozenset(self.container.service_name if c == OWN_SERVICE else c for c in self.callers)
        super().setup()

    def handle_message(self, body, message):
        caller = message.properties.get("user_id")
        if caller not in self.callers:
            log.warning("refused a call of %s.%s from %s", self.container.service_name, self.method_name,
                        caller or "a sender without user_id")
            raise CallerRefused(f"{caller or 'a sender without user_id'} may not call {self.method_name}")
        super().handle_message(body, message)


class PromptReplyListener(ReplyListener):
    queue_consumer = PromptQueueConsumer()


class RpcProxy(NamekoRpcProxy):
    """nameko's RPC proxy, sending each call in the service's own name."""

    rpc_reply_listener = PromptReplyListener()

    def setup(self):
        self.options["user_id"] = user_of(self.container.config["AMQP_URI"])
        super().setup()


def rpc(method=None, *, callers=(trust.GATEWAY,)):
    """``@rpc``: a method the gateway calls; ``@rpc(callers=(...))``: the broker users that may."""
    if method is None:
        return functools.partial(rpc, callers=callers)

    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except OperationalError:  # connection refused or lost, server shutting down, deadlock
            raise Unavailable("service_unavailable") from None
        except StatementError as exc:  # its message, sent to the caller, would quote the row
            raise DatabaseFault(describe(exc)) from exc

    # nameko checks a call's arguments against this signature before running it.
    call.__signature__ = inspect.signature(method)
    return GuardedRpc.decorator(expected_exceptions=DomainError, callers=callers)(call)
