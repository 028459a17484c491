"""RPC between the gateway and the services.

Domain errors cross as themselves (registered for deserialisation), and ``rpc`` marks them as
expected, so nameko does not log a parent's typo as a service error.
"""
from functools import partial

from nameko.exceptions import deserialize_to_instance
from nameko.rpc import rpc as nameko_rpc

from .errors import Conflict, DomainError, NotFound, TooManyAttempts, Unavailable

for _error in (DomainError, NotFound, Conflict, TooManyAttempts, Unavailable):
    deserialize_to_instance(_error)

rpc = partial(nameko_rpc, expected_exceptions=DomainError)
