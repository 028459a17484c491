"""RPC between the gateway and the services.

Domain errors cross as themselves (registered for deserialisation), and ``rpc`` marks them as
expected, so nameko does not log a parent's typo as a service error. The service's database out
of reach (restarting, failing over) answers ``service_unavailable`` (503), as a service that is
down does, rather than an internal error.
"""
import functools
import inspect

from nameko.exceptions import deserialize_to_instance
from nameko.rpc import rpc as nameko_rpc
from sqlalchemy.exc import OperationalError, StatementError

from .errors import Conflict, DomainError, NotFound, TooManyAttempts, Unavailable
from .private import DatabaseFault, describe

for _error in (DomainError, NotFound, Conflict, TooManyAttempts, Unavailable):
    deserialize_to_instance(_error)


def rpc(method):
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
    return nameko_rpc(call, expected_exceptions=DomainError)
