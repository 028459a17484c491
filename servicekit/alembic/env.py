"""One Alembic environment for every service: the kit's own tables (event store, relay cursor)
plus the service's, from ``services/<name>/migrations``; ``upgrade heads`` runs both branches."""
from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)  # as make_engine's
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
