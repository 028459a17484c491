"""The event store and the relay's cursor.

Revision ID: servicekit_0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "servicekit_0001"
down_revision = None
branch_labels = ("servicekit",)
depends_on = None


def upgrade():
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("stream_version", sa.Integer),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("causation_id", sa.Text),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),
    )
    op.create_index("events_source_position_idx", "events", ["source", "position"])
    op.create_table(
        "relay_cursors",
        sa.Column("relay", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )


def downgrade():
    op.drop_table("relay_cursors")
    op.drop_table("events")
