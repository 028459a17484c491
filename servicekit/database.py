"""The service's database as a nameko dependency: a SQLAlchemy engine on psycopg 3."""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine


def make_engine(url: str, pool_size: int = 5) -> Engine:
    # A bounded pool per process: seven processes share PostgreSQL's connection limit. It keeps
    # as many connections as the process runs workers at once: a connection beyond the pool is
    # closed when given back, and opening one again (a backend, a password exchange) costs more
    # than the query it serves. Its errors never quote the values bound to a query (names,
    # marks, documents): they reach logs and dead-letter reasons (``servicekit.private``).
    return create_engine(
        url, pool_size=pool_size, max_overflow=2, pool_pre_ping=True, pool_recycle=1800,
        connect_args={"connect_timeout": 5}, hide_parameters=True,
    )


class Database(DependencyProvider):
    """Gives a worker the engine; a handler opens its transaction with ``self.db.begin()``."""

    def setup(self):
        # Every worker (RPC calls, the batch of events in hand) and the readiness check.
        self.engine = make_engine(self.container.config["DATABASE_URL"],
                                  pool_size=self.container.config.get("max_workers", 10) + 1)

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self.engine

    def check_ready(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready; say which
            return f"database: {type(exc).__name__}"
        return None
