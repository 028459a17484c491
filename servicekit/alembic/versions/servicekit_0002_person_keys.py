"""The keys of the persons whose personal data the event store holds (crypto-shredding).

Revision ID: servicekit_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "servicekit_0002"
down_revision = "servicekit_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "person_keys",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("person_id", sa.Text, primary_key=True),
        sa.Column("key", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("forgotten_at", sa.DateTime(timezone=True)),
    )


def downgrade():
    op.drop_table("person_keys")
