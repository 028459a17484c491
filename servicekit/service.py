"""What every service class is built on."""
from __future__ import annotations

from .database import Database
from .ops import Operations


class Service:
    """The dependencies every service has: its database (``db``) and its operations (``ops``:
    metrics, ``/healthz`` and ``/readyz`` on a port of their own, RED for every entrypoint). A
    service class sets its ``name`` and adds what is its own."""

    db = Database()
    ops = Operations()
