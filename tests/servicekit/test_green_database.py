"""psycopg must not block eventlet's hub: queries of different green threads overlap."""
import time

import eventlet
from sqlalchemy import text

from servicekit.database import make_engine


def test_eight_half_second_queries_overlap(database_url):
    engine = make_engine(database_url("attendance"), pool_size=8)

    def sleep_in_postgres(_):
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.5)"))

    list(eventlet.GreenPool(8).imap(sleep_in_postgres, range(8)))  # warm the pool
    started = time.perf_counter()
    list(eventlet.GreenPool(8).imap(sleep_in_postgres, range(8)))
    elapsed = time.perf_counter() - started
    engine.dispose()
    # One after the other they take 4 s; together about 0.5 s.
    assert elapsed < 2.0, f"queries ran one after the other ({elapsed:.2f}s): the hub is blocked"
