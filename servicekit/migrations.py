"""Create a service's database if needed and bring its schema to the newest version."""
from __future__ import annotations

from pathlib import Path

from alembic import command, op
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", hide_parameters=True)
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "servicekit" / "alembic"))
    locations = [ROOT / "servicekit" / "alembic" / "versions", ROOT / "services" / service / "migrations"]
    config.set_main_option("version_locations", " ".join(str(p) for p in locations if p.is_dir()))
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(service: str, url: str) -> None:
    ensure_database(url)
    command.upgrade(alembic_config(service, url), "heads")


def baseline(metadata: MetaData):
    """The ``upgrade`` and ``downgrade`` of a service's first version: its tables as its
    ``tables.py`` declares them, the one place they are written.

    A change to a table after that is a version of its own, for the databases made before it,
    written so that it changes nothing where the baseline already built the changed table
    (``if_not_exists``, ``if_exists``): ``tests/servicekit/test_schema.py`` runs every version on a
    fresh database and holds the result to ``tables.py``."""

    def upgrade():
        metadata.create_all(op.get_bind())

    def downgrade():
        metadata.drop_all(op.get_bind())

    return upgrade, downgrade


def pseudonymous_access_log():
    """The ``upgrade`` and ``downgrade`` of the version that keeps a service's access log after
    its readers close their accounts (``servicekit.children``): the parent id may be empty, the
    pseudonym takes its place, and retention deletes by age."""

    def upgrade():
        op.execute("ALTER TABLE access_log ALTER COLUMN parent_id DROP NOT NULL,"
                   " ADD COLUMN IF NOT EXISTS parent_pseudonym text")
        op.execute("CREATE INDEX IF NOT EXISTS access_log_at_idx ON access_log (at)")

    def downgrade():
        op.execute("DELETE FROM access_log WHERE parent_id IS NULL")  # the closed accounts' reads
        op.execute("DROP INDEX IF EXISTS access_log_at_idx")
        op.execute("ALTER TABLE access_log DROP COLUMN IF EXISTS parent_pseudonym,"
                   " ALTER COLUMN parent_id SET NOT NULL")

    return upgrade, downgrade
