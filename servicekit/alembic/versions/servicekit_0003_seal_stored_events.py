"""Seal the personal fields of the events stored before crypto-shredding (decision 8).

Revision ID: servicekit_0003
"""
from alembic import op

from servicekit import store

revision = "servicekit_0003"
down_revision = "servicekit_0002"
branch_labels = None
depends_on = None


def upgrade():
    store.seal_plain(op.get_bind())


def downgrade():
    pass  # sealed values stay sealed: the store reads both
