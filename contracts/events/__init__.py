"""Every event of the bus, one module per owning domain; importing registers them."""
from . import attendance, billing, notices, parents, results, school  # noqa: F401
