"""A service's tables are written once, in ``tables.py``: its first Alembic version builds them
from there (``servicekit.migrations.baseline``) and every later one changes them for the databases
made before it. For every service, a freshly migrated database, all versions run, must be exactly
the kit's tables plus the service's."""
import importlib
import pathlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.schema import DropIndex

from servicekit import shredding, store

SERVICES = sorted(path.parent.name for path in
                  (pathlib.Path(__file__).resolve().parents[2] / "services").glob("*/tables.py"))


def declared(service: str) -> MetaData:
    """The kit's tables (event store, relay cursor, person keys) and the service's, as its code
    declares them."""
    tables = importlib.import_module(f"services.{service}.tables")
    both = MetaData()
    for metadata in (store.metadata, shredding.metadata, tables.metadata):
        for table in metadata.tables.values():
            table.to_metadata(both)
    return both


def index_definitions(conn) -> dict[str, str]:
    """{index: its definition}, as PostgreSQL renders it, of every index of the service's schema."""
    return dict(conn.execute(text(
        "SELECT relname, pg_get_indexdef(oid) FROM pg_class"
        " WHERE relkind = 'i' AND relnamespace = 'public'::regnamespace")).all())


@pytest.mark.parametrize("service", SERVICES)
def test_the_migrations_make_the_tables_the_code_declares(service, database_url):
    metadata = declared(service)
    engine = create_engine(database_url(service))
    try:
        with engine.connect() as conn:
            # Tables, columns, nullability, indexes and unique constraints are compared always;
            # types and server defaults too, with nothing excluded: neither gives a false
            # difference on PostgreSQL here. Alembic leaves out its own alembic_version table.
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": True})
            differences = compare_metadata(context, metadata)
            # Alembic compares an index's name, columns and uniqueness, not a partial index's
            # predicate: the declared indexes are made in place of the migrated ones, in the
            # transaction rolled back below, and PostgreSQL's renderings of both must be equal.
            migrated = index_definitions(conn)
            indexes = [index for table in metadata.tables.values() for index in table.indexes]
            for index in indexes:
                conn.execute(DropIndex(index, if_exists=True))
            for index in indexes:
                index.create(conn)
            made = index_definitions(conn)
            conn.rollback()
    finally:
        engine.dispose()
    assert differences == []
    assert made == migrated
