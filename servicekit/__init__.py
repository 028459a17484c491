"""The kit every Portail Parents service is built from.

Event store, inbox and relay (``store``, ``relay``), the batching event consumer with retries and
dead letters (``consumer``), nameko dependencies for the database and for operations
(``database``, ``ops``), RPC errors (``errors``), token checks (``tokens``) and the command line
(``python -m servicekit``).
"""
import os

# psycopg 3 blocks eventlet's whole hub unless it waits with select(); the variable is read once,
# when psycopg is first imported, so it is set here, where every service process starts.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_selector")
