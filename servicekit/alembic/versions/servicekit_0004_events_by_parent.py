"""An index of the events by the parent they name, for the parent's export.

Revision ID: servicekit_0004
"""
from alembic import op

revision = "servicekit_0004"
down_revision = "servicekit_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE INDEX IF NOT EXISTS events_parent_idx ON events ((data ->> 'parent_id'))"
               " WHERE (data ->> 'parent_id') IS NOT NULL")


def downgrade():
    op.execute("DROP INDEX IF EXISTS events_parent_idx")
